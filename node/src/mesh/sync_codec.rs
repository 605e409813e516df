//! `/liquid-mesh/sync/1`: a request-response protocol by which a node that has just connected asks
//! its peer for the envelopes it saw recently, so events published while the two were apart (a
//! partition, a restart) still arrive. Requests and responses are size-limited protobuf.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use liquid_mesh_proto as proto;

pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new("/liquid-mesh/sync/1");

/// Encoded envelopes, oldest first.
pub(crate) type Envelopes = Vec<Vec<u8>>;

/// What a sync request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// Every recent envelope: what a node asks of a node.
    Everything,
    /// Link events and sealed signaling only: what a native peer asks.
    Pairing,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SyncCodec;

async fn read_limited<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(limit as u64 + 1).read_to_end(&mut bytes).await?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message too large",
        ));
    }
    Ok(bytes)
}

fn invalid(err: proto::DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, err)
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Wanted;
    type Response = Envelopes;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Wanted>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, 64).await?;
        let pairing_only = proto::decode_sync_request(&bytes).map_err(invalid)?;
        Ok(if pairing_only {
            Wanted::Pairing
        } else {
            Wanted::Everything
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Envelopes>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, proto::MAX_SYNC_BYTES).await?;
        proto::decode_sync_response(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        wanted: Wanted,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&proto::encode_sync_request(wanted == Wanted::Pairing))
            .await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        envelopes: Envelopes,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&proto::encode_sync_response(envelopes))
            .await?;
        io.close().await
    }
}
