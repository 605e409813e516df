//! The website's dials of the wallet: its direct addresses one at a time, the next one started
//! beside a dial that stalls, every direct address again after a round in which all failed, and
//! the relayed circuits once no round is left. Bookkeeping only: the pairing sends the dials.

use std::collections::VecDeque;
use std::time::Duration;

use libp2p::Multiaddr;
use tokio::time::Instant;

/// What the pairing does after a dial failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Another dial is still under way.
    Wait,
    Dial(Vec<Multiaddr>),
    /// Every address has been tried.
    GiveUp,
}

pub(super) struct Dials {
    direct: Vec<Multiaddr>,
    /// Direct addresses not dialled yet in this round.
    untried: VecDeque<Multiaddr>,
    /// Rounds of direct dials left after this one.
    rounds_left: u32,
    relayed: Vec<Multiaddr>,
    in_flight: u32,
    stall: Duration,
    stall_at: Option<Instant>,
}

impl Dials {
    /// `rounds` rounds of direct dials at most; the next address `stall` after the last dial
    /// while none has connected.
    pub(super) fn new(
        direct: Vec<Multiaddr>,
        relayed: Vec<Multiaddr>,
        rounds: u32,
        stall: Duration,
    ) -> Self {
        Self {
            untried: direct.iter().cloned().collect(),
            direct,
            rounds_left: rounds.max(1) - 1,
            relayed,
            in_flight: 0,
            stall,
            stall_at: None,
        }
    }

    /// The first dial; `None` when the other peer offers nothing to dial.
    pub(super) fn first(&mut self, now: Instant) -> Option<Vec<Multiaddr>> {
        match self.next(now) {
            Next::Dial(addrs) => Some(addrs),
            Next::Wait | Next::GiveUp => None,
        }
    }

    /// When the dial under way counts as stalled, if another direct address is left to try.
    pub(super) fn stall_deadline(&self) -> Option<Instant> {
        self.stall_at
    }

    /// The dial under way stalled: the next direct address, to dial beside it.
    pub(super) fn stalled(&mut self, now: Instant) -> Option<Vec<Multiaddr>> {
        self.stall_at = None;
        self.next_untried(now).map(|addr| vec![addr])
    }

    /// A dial failed.
    pub(super) fn failed(&mut self, now: Instant) -> Next {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight > 0 {
            return Next::Wait;
        }
        self.next(now)
    }

    fn next(&mut self, now: Instant) -> Next {
        if self.untried.is_empty() && self.rounds_left > 0 && !self.direct.is_empty() {
            self.rounds_left -= 1;
            self.untried = self.direct.iter().cloned().collect();
        }
        if let Some(addr) = self.next_untried(now) {
            return Next::Dial(vec![addr]);
        }
        if self.relayed.is_empty() {
            return Next::GiveUp;
        }
        // Relayed circuits all at once, as one dial.
        self.in_flight += 1;
        Next::Dial(std::mem::take(&mut self.relayed))
    }

    fn next_untried(&mut self, now: Instant) -> Option<Multiaddr> {
        let addr = self.untried.pop_front()?;
        self.in_flight += 1;
        self.stall_at = (!self.untried.is_empty()).then(|| now + self.stall);
        Some(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/udp/{port}/webrtc-direct")
            .parse()
            .unwrap()
    }

    fn circuit() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/9/p2p-circuit".parse().unwrap()
    }

    const STALL: Duration = Duration::from_millis(500);

    #[test]
    fn a_stalled_dial_gets_the_next_socket_beside_it() {
        let mut dials = Dials::new(vec![addr(1), addr(2)], vec![circuit()], 2, STALL);
        let t0 = Instant::now();
        assert_eq!(dials.first(t0), Some(vec![addr(1)]));
        assert_eq!(dials.stall_deadline(), Some(t0 + STALL));
        assert_eq!(dials.stalled(t0 + STALL), Some(vec![addr(2)]));
        // Both under way, nothing more to start on a stall.
        assert_eq!(dials.stall_deadline(), None);
        assert_eq!(dials.failed(t0 + STALL), Next::Wait);
        // Both failed: a second round, from the first socket.
        assert_eq!(dials.failed(t0 + STALL * 20), Next::Dial(vec![addr(1)]));
        assert_eq!(dials.stall_deadline(), Some(t0 + STALL * 21));
        assert_eq!(dials.failed(t0 + STALL * 21), Next::Dial(vec![addr(2)]));
        assert_eq!(dials.stall_deadline(), None);
        // No round left: the relay, then nothing.
        assert_eq!(dials.failed(t0 + STALL * 22), Next::Dial(vec![circuit()]));
        assert_eq!(dials.failed(t0 + STALL * 23), Next::GiveUp);
    }

    #[test]
    fn one_socket_is_dialled_once_per_round() {
        let mut dials = Dials::new(vec![addr(1)], Vec::new(), 2, STALL);
        let t0 = Instant::now();
        assert_eq!(dials.first(t0), Some(vec![addr(1)]));
        assert_eq!(dials.stall_deadline(), None);
        assert_eq!(dials.failed(t0), Next::Dial(vec![addr(1)]));
        assert_eq!(dials.failed(t0), Next::GiveUp);
    }

    #[test]
    fn with_no_direct_address_the_relay_is_dialled_first() {
        let mut dials = Dials::new(Vec::new(), vec![circuit()], 2, STALL);
        assert_eq!(dials.first(Instant::now()), Some(vec![circuit()]));
        assert_eq!(dials.stall_deadline(), None);
        assert_eq!(dials.failed(Instant::now()), Next::GiveUp);
        let mut nothing = Dials::new(Vec::new(), Vec::new(), 2, STALL);
        assert_eq!(nothing.first(Instant::now()), None);
    }
}
