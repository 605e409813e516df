//! Groups the envelopes a node publishes at one moment into gossip messages: a lone envelope goes
//! out as itself, several as [`proto::Batch`]es under the mesh's message limit, each on the shard
//! of its first envelope. At a trickle nothing waits; under load the mesh's costs per message
//! (ids, caches, queues, a frame and a write each) are shared. A batch may mix shards because every
//! node subscribes to every shard; were nodes ever to subscribe to some only, batches would have
//! to be cut per shard (at 16 shards those rarely fill: measured, most held one envelope).

use liquid_mesh_proto as proto;

/// Framing a batch adds around its envelopes: its own envelope (version, nonce, body tag).
const BATCH_FRAMING: usize = 32;
/// Framing per envelope in a batch: a field tag and a length of up to three bytes.
const ENVELOPE_FRAMING: usize = 4;

/// Envelopes to publish, with their shards, in order.
#[derive(Default)]
pub(super) struct Batches {
    envelopes: Vec<(usize, Vec<u8>)>,
}

impl Batches {
    pub(super) fn add(&mut self, shard: usize, envelope: Vec<u8>) {
        self.envelopes.push((shard, envelope));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// Adds `later`'s envelopes after these.
    pub(super) fn append(&mut self, mut later: Batches) {
        self.envelopes.append(&mut later.envelopes);
    }

    /// The gossip messages to publish and their shards, envelopes in the order added.
    pub(super) fn into_messages(self) -> Vec<(usize, Vec<u8>)> {
        let mut messages = Vec::new();
        let mut chunk: Vec<Vec<u8>> = Vec::new();
        let mut chunk_shard = 0;
        let mut size = BATCH_FRAMING;
        for (shard, envelope) in self.envelopes {
            let framed = envelope.len() + ENVELOPE_FRAMING;
            if !chunk.is_empty() && size + framed > proto::MAX_MESSAGE_BYTES {
                messages.push((chunk_shard, seal(std::mem::take(&mut chunk))));
                size = BATCH_FRAMING;
            }
            if chunk.is_empty() {
                chunk_shard = shard;
            }
            size += framed;
            chunk.push(envelope);
        }
        if !chunk.is_empty() {
            messages.push((chunk_shard, seal(chunk)));
        }
        messages
    }
}

/// One envelope as itself, several as a batch.
fn seal(mut envelopes: Vec<Vec<u8>>) -> Vec<u8> {
    if envelopes.len() == 1 {
        return envelopes.pop().expect("one envelope");
    }
    proto::encode(
        rand::random(),
        proto::Body::Batch(proto::Batch { envelopes }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(payload_bytes: usize) -> Vec<u8> {
        proto::encode(
            rand::random(),
            proto::Body::Signal(proto::Signal {
                room: Some(proto::SignalRoom::RequestIdJson("\"r\"".into())),
                kind: proto::SignalKind::OfferCandidate as i32,
                payload_json: format!("\"{}\"", "c".repeat(payload_bytes)),
            }),
        )
    }

    fn unpack(message: &[u8]) -> Vec<Vec<u8>> {
        match proto::decode(message).expect("decodes") {
            proto::Body::Batch(batch) => batch.envelopes,
            _ => vec![message.to_vec()],
        }
    }

    #[test]
    fn a_lone_envelope_goes_out_as_itself() {
        let mut batches = Batches::default();
        let only = signal(10);
        batches.add(3, only.clone());
        assert_eq!(batches.into_messages(), vec![(3, only)]);
    }

    #[test]
    fn envelopes_share_messages_under_the_limit_in_order() {
        let mut batches = Batches::default();
        let sent: Vec<_> = (0..5).map(|_| signal(30 * 1024)).collect();
        let small = signal(100);
        for (n, envelope) in sent.iter().enumerate() {
            batches.add(n, envelope.clone());
        }
        batches.add(9, small.clone());
        let messages = batches.into_messages();
        assert!(
            messages
                .iter()
                .all(|(_, m)| m.len() <= proto::MAX_MESSAGE_BYTES),
            "every message fits the limit"
        );
        let shards: Vec<_> = messages.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            shards,
            vec![0, 2, 4],
            "two 30 KiB envelopes per 72 KiB message, on the first one's shard"
        );
        let received: Vec<_> = messages.iter().flat_map(|(_, m)| unpack(m)).collect();
        assert_eq!(received[..5], sent[..], "all of them, in order");
        assert_eq!(received[5], small);
    }
}
