//! Where a website's `link` meets a wallet's authentication, in either order. A link that
//! arrives first is parked until the wallet authenticates (or its TTL passes); an
//! authentication that arrives first is remembered for the same TTL so a late link completes at
//! once. The original only handled the first order and waited forever otherwise.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::hub::Authenticated;

/// Why a link was refused instead of parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("this socket already waits on too many links")]
    PerSocket,
    #[error("the node already holds too many waiting links")]
    PerNode,
}

/// Limits on what may wait.
#[derive(Debug, Clone, Copy)]
pub struct RendezvousLimits {
    pub ttl: Duration,
    pub per_socket: usize,
    pub per_node: usize,
}

struct Parked<W> {
    socket: String,
    waiter: W,
    expires: Instant,
}

/// The result of a link.
pub enum Linked<W> {
    /// The wallet had already authenticated: complete now.
    Ready(Authenticated, W),
    /// Waiting for the wallet.
    Parked,
}

/// Parked links and recent authentications, keyed by [`crate::RequestId::key`]. `W` is what a
/// completed link needs (the bridge stores the socket's ack and session there).
pub struct Rendezvous<W> {
    limits: RendezvousLimits,
    parked: HashMap<String, Vec<Parked<W>>>,
    recent: HashMap<String, (Authenticated, Instant)>,
    per_socket: HashMap<String, usize>,
    total: usize,
}

impl<W> Rendezvous<W> {
    pub fn new(limits: RendezvousLimits) -> Self {
        Self {
            limits,
            parked: HashMap::new(),
            recent: HashMap::new(),
            per_socket: HashMap::new(),
            total: 0,
        }
    }

    /// A socket links `key`; every call waits (and is answered) on its own, within the limits.
    /// A refused link hands its waiter back so it can be answered.
    pub fn link(
        &mut self,
        key: String,
        socket: &str,
        waiter: W,
        now: Instant,
    ) -> Result<Linked<W>, (LinkRefused, W)> {
        if let Some((auth, expires)) = self.recent.get(&key)
            && *expires > now
        {
            return Ok(Linked::Ready(auth.clone(), waiter));
        }
        let expires = now + self.limits.ttl;
        let count = self.per_socket.get(socket).copied().unwrap_or(0);
        if count >= self.limits.per_socket {
            return Err((LinkRefused::PerSocket, waiter));
        }
        if self.total >= self.limits.per_node {
            return Err((LinkRefused::PerNode, waiter));
        }
        self.parked.entry(key).or_default().push(Parked {
            socket: socket.to_owned(),
            waiter,
            expires,
        });
        *self.per_socket.entry(socket.to_owned()).or_default() += 1;
        self.total += 1;
        Ok(Linked::Parked)
    }

    /// A wallet authenticated: returns the waiters to complete and remembers the event.
    pub fn authenticated(&mut self, auth: &Authenticated, now: Instant) -> Vec<W> {
        let key = auth.request_id.key();
        self.recent
            .insert(key.clone(), (auth.clone(), now + self.limits.ttl));
        let waiting = self.parked.remove(&key).unwrap_or_default();
        waiting
            .into_iter()
            .map(|parked| {
                self.forget(&parked.socket);
                parked.waiter
            })
            .collect()
    }

    /// A socket disconnected: its waits are dropped.
    pub fn socket_gone(&mut self, socket: &str) {
        if self.per_socket.remove(socket).is_none() {
            return;
        }
        let mut removed = 0;
        self.parked.retain(|_, waiting| {
            let before = waiting.len();
            waiting.retain(|p| p.socket != socket);
            removed += before - waiting.len();
            !waiting.is_empty()
        });
        self.total -= removed;
    }

    /// Drops expired waits and memories; returns how many waits expired.
    pub fn sweep(&mut self, now: Instant) -> usize {
        self.recent.retain(|_, (_, expires)| *expires > now);
        let mut expired = Vec::new();
        self.parked.retain(|_, waiting| {
            waiting.retain(|p| {
                let live = p.expires > now;
                if !live {
                    expired.push(p.socket.clone());
                }
                live
            });
            !waiting.is_empty()
        });
        for socket in &expired {
            self.forget(socket);
        }
        expired.len()
    }

    /// Links waiting now.
    pub fn parked(&self) -> usize {
        self.total
    }

    fn forget(&mut self, socket: &str) {
        self.total -= 1;
        if let Some(count) = self.per_socket.get_mut(socket) {
            *count -= 1;
            if *count == 0 {
                self.per_socket.remove(socket);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestId;
    use serde_json::json;

    fn auth(id: &str) -> Authenticated {
        Authenticated {
            request_id: RequestId::try_from(json!(id)).unwrap(),
            wallet: "W".into(),
            cred_id: "C".into(),
            origin: crate::hub::Origin::HTTP,
        }
    }

    fn limits() -> RendezvousLimits {
        RendezvousLimits {
            ttl: Duration::from_secs(10),
            per_socket: 2,
            per_node: 3,
        }
    }

    fn key(id: &str) -> String {
        auth(id).request_id.key()
    }

    #[test]
    fn completes_in_either_order() {
        let now = Instant::now();
        let mut r = Rendezvous::new(limits());
        assert!(matches!(r.link(key("a"), "s1", 1, now), Ok(Linked::Parked)));
        assert_eq!(r.authenticated(&auth("a"), now), vec![1]);
        assert_eq!(r.parked(), 0);
        // The wallet came first this time.
        r.authenticated(&auth("b"), now);
        assert!(
            matches!(r.link(key("b"), "s2", 2, now), Ok(Linked::Ready(a, 2)) if a == auth("b"))
        );
        // Not after the memory expired.
        r.sweep(now + Duration::from_secs(11));
        assert!(matches!(
            r.link(key("b"), "s2", 3, now + Duration::from_secs(11)),
            Ok(Linked::Parked)
        ));
    }

    #[test]
    fn bounds_waits_and_cleans_up() {
        let now = Instant::now();
        let mut r = Rendezvous::new(limits());
        r.link(key("a"), "s1", 1, now).unwrap();
        r.link(key("a"), "s1", 2, now).unwrap();
        assert!(matches!(
            r.link(key("c"), "s1", 4, now),
            Err((LinkRefused::PerSocket, 4))
        ));
        r.link(key("c"), "s2", 5, now).unwrap();
        assert!(matches!(
            r.link(key("d"), "s3", 6, now),
            Err((LinkRefused::PerNode, 6))
        ));
        r.socket_gone("s1");
        assert_eq!(r.parked(), 1);
        // Both waits of s1 went with it.
        assert_eq!(r.authenticated(&auth("a"), now), Vec::<i32>::new());
        assert_eq!(r.sweep(now + Duration::from_secs(11)), 1);
        assert_eq!(r.parked(), 0);
    }
}
