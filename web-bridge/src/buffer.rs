//! Signals sent before the other side of a pair joined: a short, bounded buffer per room that a
//! socket joining the room gets replayed, so an early offer or candidate is not lost.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::hub::{Room, Signal};

/// Bounds on what one room keeps.
#[derive(Debug, Clone, Copy)]
pub struct BufferLimits {
    /// Signals kept per room; the oldest go first. A joiner is sent them all at once; its
    /// socket's queue is sized to take them.
    pub count: usize,
    /// Payload bytes kept per room.
    pub bytes: usize,
    /// How long a signal is kept.
    pub ttl: Duration,
}

struct Kept {
    signal: Signal,
    bytes: usize,
    at: Instant,
}

/// Recent signals per room.
pub struct SignalBuffers {
    limits: BufferLimits,
    rooms: HashMap<Room, (VecDeque<Kept>, usize)>,
}

impl SignalBuffers {
    pub fn new(limits: BufferLimits) -> Self {
        Self {
            limits,
            rooms: HashMap::new(),
        }
    }

    /// Keeps a signal whose payload serialises to `bytes` bytes.
    pub fn push(&mut self, signal: Signal, bytes: usize, now: Instant) {
        if bytes > self.limits.bytes || self.limits.count == 0 {
            return;
        }
        let (kept, total) = self.rooms.entry(signal.room.clone()).or_default();
        kept.push_back(Kept {
            signal,
            bytes,
            at: now,
        });
        *total += bytes;
        while kept.len() > self.limits.count || *total > self.limits.bytes {
            let dropped = kept.pop_front().expect("non-empty while over a limit");
            *total -= dropped.bytes;
        }
    }

    /// What a socket joining `room` missed: signals of others, oldest first.
    pub fn replay(&mut self, room: &Room, joiner: &str, now: Instant) -> Vec<Signal> {
        self.expire(now);
        self.rooms
            .get(room)
            .map(|(kept, _)| {
                kept.iter()
                    .filter(|k| k.signal.sender != joiner)
                    .map(|k| k.signal.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops signals older than the TTL and rooms left empty.
    pub fn expire(&mut self, now: Instant) {
        let ttl = self.limits.ttl;
        self.rooms.retain(|_, (kept, total)| {
            while kept.front().is_some_and(|k| now.duration_since(k.at) > ttl) {
                let dropped = kept.pop_front().expect("front exists");
                *total -= dropped.bytes;
            }
            !kept.is_empty()
        });
    }

    /// Rooms with buffered signals.
    pub fn rooms(&self) -> usize {
        self.rooms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::SignalKind;
    use serde_json::json;
    use std::sync::Arc;

    fn signal(sender: &str, n: u32) -> Signal {
        Signal {
            room: Room::Wallet("W".into()),
            kind: SignalKind::OfferCandidate,
            payload: Arc::new(json!(n)),
            origin: crate::hub::Origin::Local(1),
            sender: sender.into(),
            pair_here: false,
        }
    }

    #[test]
    fn replays_others_signals_within_bounds() {
        let now = Instant::now();
        let limits = BufferLimits {
            count: 3,
            bytes: 100,
            ttl: Duration::from_secs(5),
        };
        let mut b = SignalBuffers::new(limits);
        for n in 0..5 {
            b.push(signal("a", n), 10, now);
        }
        b.push(signal("b", 9), 10, now);
        let room = Room::Wallet("W".into());
        let replayed: Vec<_> = b
            .replay(&room, "b", now)
            .iter()
            .map(|s| (*s.payload).clone())
            .collect();
        assert_eq!(
            replayed,
            vec![json!(3), json!(4)],
            "count bound keeps the newest; own signal skipped"
        );
        b.push(signal("a", 7), 95, now);
        assert_eq!(b.replay(&room, "b", now).len(), 1, "byte bound");
        b.push(signal("a", 8), 101, now);
        assert_eq!(
            b.replay(&room, "b", now).len(),
            1,
            "a payload above the byte bound is not kept"
        );
        assert!(
            b.replay(&room, "b", now + Duration::from_secs(6))
                .is_empty()
        );
        assert_eq!(b.rooms(), 0);
    }
}
