//! The node's peer identity: an Ed25519 key kept in the data directory, so a restarted node keeps
//! its peer ID and the `/p2p/<id>` its neighbours bootstrap from stays valid.

use std::io::Write;
use std::path::Path;

use libp2p::identity::Keypair;

use super::MeshError;

const FILE: &str = "p2p-identity.key";

pub(super) fn load_or_create(data_dir: &Path) -> Result<Keypair, MeshError> {
    let path = data_dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes)
            .map_err(|err| MeshError::IdentityFormat(format!("{}: {err}", path.display()))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let bytes = keypair
                .to_protobuf_encoding()
                .map_err(|err| MeshError::IdentityFormat(err.to_string()))?;
            write_private(&path, &bytes).map_err(MeshError::Identity)?;
            Ok(keypair)
        }
        Err(err) => Err(MeshError::Identity(err)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_restart_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
        std::fs::write(dir.path().join(FILE), b"not a key").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(MeshError::IdentityFormat(_))
        ));
    }
}
