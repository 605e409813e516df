//! The direct channel between two native peers: a `/liquid/channel/1` stream of length-prefixed
//! messages. Its first message each way proves the sender holds the pairing key, so a peer that
//! got in by tampered signaling is refused before anything is exchanged.

use futures::io::{ReadHalf, WriteHalf};
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{PeerId, Stream};

use super::seal::PairingKeys;
use super::{PeerError, Role};

/// Largest message on the channel.
pub const MAX_CHANNEL_MESSAGE: usize = 1024 * 1024;

/// How the two peers are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Straight to each other (WebRTC or another direct transport).
    Direct,
    /// Through a relay circuit that hole punching upgraded to a direct connection.
    HolePunched,
    /// Through a relay circuit on a mesh node (bounded in time and bytes by the relay).
    Relayed,
}

/// A confirmed channel to the other peer.
pub struct Channel {
    sender: ChannelSender,
    receiver: ChannelReceiver,
    path: Path,
    peer: PeerId,
}

/// The sending half of a [`Channel`].
pub struct ChannelSender(WriteHalf<Stream>);

/// The receiving half of a [`Channel`].
pub struct ChannelReceiver(ReadHalf<Stream>);

impl Channel {
    pub(super) async fn confirm(
        stream: Stream,
        path: Path,
        keys: &PairingKeys,
        role: Role,
        me: PeerId,
        other: PeerId,
    ) -> Result<Self, PeerError> {
        let (read, write) = stream.split();
        let (mut sender, mut receiver) = (ChannelSender(write), ChannelReceiver(read));
        sender.send(&keys.confirmation(role, &me, &other)).await?;
        let proof = receiver
            .recv()
            .await?
            .ok_or_else(|| PeerError::Tampered("channel closed before confirming".into()))?;
        keys.check_confirmation(&proof, role.other(), &other, &me)?;
        Ok(Self {
            sender,
            receiver,
            path,
            peer: other,
        })
    }

    /// Which path the channel runs over.
    pub fn path(&self) -> Path {
        self.path
    }

    /// The other peer.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    pub async fn send(&mut self, message: &[u8]) -> Result<(), PeerError> {
        self.sender.send(message).await
    }

    /// The next message; `None` when the other peer closed the channel.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, PeerError> {
        self.receiver.recv().await
    }

    /// Splits the channel so both directions can run at once.
    pub fn split(self) -> (ChannelSender, ChannelReceiver) {
        (self.sender, self.receiver)
    }
}

impl ChannelSender {
    pub async fn send(&mut self, message: &[u8]) -> Result<(), PeerError> {
        if message.len() > MAX_CHANNEL_MESSAGE {
            return Err(PeerError::Channel(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "message over the channel limit",
            )));
        }
        let len = u32::try_from(message.len()).expect("bounded above");
        self.0.write_all(&len.to_be_bytes()).await?;
        self.0.write_all(message).await?;
        self.0.flush().await?;
        Ok(())
    }

    pub async fn close(mut self) -> Result<(), PeerError> {
        Ok(self.0.close().await?)
    }
}

impl ChannelReceiver {
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, PeerError> {
        let mut len = [0u8; 4];
        match self.0.read_exact(&mut len).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(err) => return Err(err.into()),
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CHANNEL_MESSAGE {
            return Err(PeerError::Channel(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "message over the channel limit",
            )));
        }
        let mut message = vec![0u8; len];
        self.0.read_exact(&mut message).await?;
        Ok(Some(message))
    }
}
