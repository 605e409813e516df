//! What the mesh has seen lately: the ids of every accepted envelope (so one arriving by gossip
//! and by sync reaches the hub once) and, for link events and signals, the envelopes themselves,
//! which a newly connected peer gets in answer to its sync request.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// A content id: the SHA-256 of the encoded envelope.
pub(crate) type ContentId = [u8; 32];

pub(crate) fn content_id(bytes: &[u8]) -> ContentId {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

struct Kept {
    bytes: Vec<u8>,
    until: Instant,
}

/// Bounded by count and bytes; the oldest go first.
pub(super) struct Recent {
    max_count: usize,
    max_bytes: usize,
    /// How long an id is remembered: at least as long as anything is kept.
    seen_for: Duration,
    kept: VecDeque<Kept>,
    kept_bytes: usize,
    seen: HashMap<ContentId, Instant>,
    seen_order: VecDeque<(ContentId, Instant)>,
}

impl Recent {
    pub(super) fn new(max_count: usize, max_bytes: usize, seen_for: Duration) -> Self {
        Self {
            max_count,
            max_bytes,
            seen_for,
            kept: VecDeque::new(),
            kept_bytes: 0,
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
        }
    }

    /// Records an envelope; keeps its bytes for `keep_for` when given. Returns false when it was
    /// already seen (and records nothing).
    pub(super) fn insert(
        &mut self,
        id: ContentId,
        bytes: &[u8],
        keep_for: Option<Duration>,
        now: Instant,
    ) -> bool {
        if self.seen.contains_key(&id) {
            return false;
        }
        self.seen.insert(id, now + self.seen_for);
        self.seen_order.push_back((id, now + self.seen_for));
        // Ids are tiny, but a flood must not grow them without bound either.
        while self.seen_order.len() > self.max_count * 4 {
            if let Some((old, _)) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if let Some(ttl) = keep_for
            && bytes.len() <= self.max_bytes
        {
            self.kept.push_back(Kept {
                bytes: bytes.to_vec(),
                until: now + ttl,
            });
            self.kept_bytes += bytes.len();
            while self.kept.len() > self.max_count || self.kept_bytes > self.max_bytes {
                let dropped = self.kept.pop_front().expect("non-empty while over a limit");
                self.kept_bytes -= dropped.bytes.len();
            }
        }
        true
    }

    #[cfg(test)]
    fn has_seen(&self, id: &ContentId) -> bool {
        self.seen.contains_key(id)
    }

    /// The newest envelopes still kept, up to `max_bytes` in all, oldest first.
    pub(super) fn snapshot(
        &mut self,
        now: Instant,
        max_bytes: usize,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Vec<Vec<u8>> {
        self.expire(now);
        let mut total = 0;
        let mut newest: Vec<Vec<u8>> = self
            .kept
            .iter()
            .rev()
            .filter(|k| wanted(&k.bytes))
            .take_while(|k| {
                // Each envelope also costs a few bytes of framing in the response.
                total += k.bytes.len() + 8;
                total <= max_bytes
            })
            .map(|k| k.bytes.clone())
            .collect();
        newest.reverse();
        newest
    }

    pub(super) fn expire(&mut self, now: Instant) {
        // Signals and link events have different lifetimes, so expired entries may sit behind
        // live ones; filter rather than pop.
        let before = self.kept.len();
        self.kept.retain(|k| k.until > now);
        if self.kept.len() != before {
            self.kept_bytes = self.kept.iter().map(|k| k.bytes.len()).sum();
        }
        while let Some(&(id, until)) = self.seen_order.front() {
            if until > now {
                break;
            }
            self.seen_order.pop_front();
            self.seen.remove(&id);
        }
    }

    #[cfg(test)]
    fn kept_ids(&self) -> Vec<ContentId> {
        self.kept.iter().map(|k| content_id(&k.bytes)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_ids_keeps_bytes_within_bounds_and_expires() {
        let now = Instant::now();
        let mut recent = Recent::new(2, 10, Duration::from_secs(60));
        let (a, b, c) = (
            content_id(b"aaaa"),
            content_id(b"bbbb"),
            content_id(b"cccc"),
        );
        assert!(recent.insert(a, b"aaaa", Some(Duration::from_secs(5)), now));
        assert!(!recent.insert(a, b"aaaa", Some(Duration::from_secs(5)), now));
        assert!(recent.insert(b, b"bbbb", Some(Duration::from_secs(30)), now));
        assert!(recent.insert(c, b"cccc", None, now));
        assert_eq!(recent.kept_ids(), vec![a, b]);
        // Over the byte bound the oldest goes.
        let d = content_id(b"dddd");
        assert!(recent.insert(d, b"dddd", Some(Duration::from_secs(30)), now));
        assert_eq!(recent.kept_ids(), vec![b, d]);
        // A snapshot may take only what the asker wants.
        let wanted = recent.snapshot(now, usize::MAX, |bytes| bytes == b"dddd");
        assert_eq!(wanted, vec![b"dddd".to_vec()]);
        // Kept envelopes expire on their own clocks; ids outlive them.
        let later = now + Duration::from_secs(40);
        assert!(recent.snapshot(later, usize::MAX, |_| true).is_empty());
        assert!(recent.has_seen(&a));
        recent.expire(now + Duration::from_secs(61));
        assert!(!recent.has_seen(&a));
    }
}
