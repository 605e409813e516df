//! Topics: a fixed set of gossipsub topics, and a request ID's shard by hash. Every node subscribes
//! to all of them at start, so a publish never waits for a fresh subscription to propagate (a
//! topic per request would race: gossipsub keeps nothing for late subscribers).

use libp2p::gossipsub::IdentTopic;
use sha2::{Digest, Sha256};

/// How many shard topics there are; part of the protocol (every node must agree).
pub const SHARDS: usize = 16;

/// The topic of shard `n`. Version 2: messages are unsigned (version-1 nodes signed theirs and
/// would drop these silently, so the two never share a topic).
pub fn shard_topic(n: usize) -> IdentTopic {
    IdentTopic::new(format!("/liquid-mesh/2/shard/{n}"))
}

/// The shard of a room key (a request ID's [`key`](crate::request_id::RequestId::key), or
/// `wallet:<address>`).
pub fn shard_of(room_key: &str) -> usize {
    let digest = Sha256::digest(room_key.as_bytes());
    let prefix = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (prefix % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_request_ids_over_every_shard() {
        let mut hits = [0usize; SHARDS];
        for n in 0..1600 {
            hits[shard_of(&format!("s:{n}"))] += 1;
        }
        assert!(hits.iter().all(|&h| (50..=150).contains(&h)), "{hits:?}");
        assert_eq!(shard_of("s:abc"), shard_of("s:abc"));
    }
}
