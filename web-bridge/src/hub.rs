//! The interface between the bridge and the rest of the node: a publish/subscribe hub of link
//! events and signals keyed by request ID (or, for wallets that never link, by wallet address).
//! The node's HTTP handlers publish [`Authenticated`]; bridges publish [`Signal`]s and
//! [`Presence`]; the session store publishes [`SessionChanged`]; the node's mesh carries them to
//! and from other nodes, tagging what it brings in as [`Origin::Remote`] so nothing is sent back
//! out.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::request_id::RequestId;

/// How many events a slow subscriber may fall behind before it loses the oldest.
pub const HUB_CAPACITY: usize = 16_384;

/// Who put an event on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A publisher in this process, by its id (a bridge's, or [`Origin::HTTP`]).
    Local(u64),
    /// Another node, by an id derived from its peer ID; only the mesh publishes these.
    Remote(u64),
}

impl Origin {
    /// The node's own HTTP API.
    pub const HTTP: Self = Self::Local(0);

    pub fn is_local(self) -> bool {
        matches!(self, Self::Local(_))
    }
}

/// A wallet proved itself in a ceremony that named `request_id`: the original's `auth` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub request_id: RequestId,
    pub wallet: String,
    pub cred_id: String,
    pub origin: Origin,
}

/// The four relayed signaling events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    OfferDescription,
    OfferCandidate,
    AnswerDescription,
    AnswerCandidate,
}

impl SignalKind {
    /// Every kind, in wire order.
    pub const ALL: [Self; 4] = [
        Self::OfferDescription,
        Self::OfferCandidate,
        Self::AnswerDescription,
        Self::AnswerCandidate,
    ];

    /// The Socket.IO event name.
    pub fn event(self) -> &'static str {
        match self {
            Self::OfferDescription => "offer-description",
            Self::OfferCandidate => "offer-candidate",
            Self::AnswerDescription => "answer-description",
            Self::AnswerCandidate => "answer-candidate",
        }
    }

    /// The kind a Socket.IO event name relays, if it is a signal.
    pub fn from_event(event: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.event() == event)
    }
}

/// Who a signal is for: the pair of one request, or (baseline clients) every socket of a wallet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Room {
    Request(RequestId),
    Wallet(String),
}

impl Room {
    /// The Socket.IO room name; prefixed so a request ID can never collide with a wallet.
    pub fn name(&self) -> String {
        match self {
            Self::Request(id) => format!("request:{}", id.key()),
            Self::Wallet(wallet) => format!("wallet:{wallet}"),
        }
    }
}

/// A signaling event to relay to the other members of a room.
#[derive(Debug, Clone)]
pub struct Signal {
    pub room: Room,
    pub kind: SignalKind,
    /// The payload exactly as the client sent it (an SDP string, a candidate object, …).
    pub payload: Arc<Value>,
    /// Which bridge (or node) it came from, so a bridge does not relay its own signals twice.
    pub origin: Origin,
    /// The sending socket, which does not get its own signal back.
    pub sender: String,
    /// The whole pair has it already: every other member of its room is a socket of this bridge,
    /// and no other bridge or node reported one. Other nodes keep it only for a socket that moves
    /// there, so the mesh may send it a moment later in one message with others.
    pub pair_here: bool,
}

/// How many distinct sessions one publisher has in a pair's room; the `presence` event sums
/// these over every bridge and node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub request_id: RequestId,
    pub devices: usize,
    pub origin: Origin,
}

/// A session's record was written: whatever a bridge cached of it (the rooms its sockets belong
/// in) must be read again. Sessions are named by [`crate::session::SessionTag`], never by their
/// id, because these cross the mesh (nodes of one origin share the session store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionChanged {
    pub tag: crate::session::SessionTag,
    pub origin: Origin,
}

/// A cheap, clonable handle on the hub.
#[derive(Debug, Clone)]
pub struct Hub {
    authenticated: broadcast::Sender<Authenticated>,
    /// Signals from this process, for the mesh to carry out.
    outbound_signals: broadcast::Sender<Signal>,
    /// Signals for the bridges to relay: from other nodes, and from this process when more than
    /// one bridge shares the hub.
    relayed_signals: broadcast::Sender<Signal>,
    presence: broadcast::Sender<Presence>,
    sessions: broadcast::Sender<SessionChanged>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Self {
            authenticated: broadcast::channel(HUB_CAPACITY).0,
            outbound_signals: broadcast::channel(HUB_CAPACITY).0,
            relayed_signals: broadcast::channel(HUB_CAPACITY).0,
            presence: broadcast::channel(HUB_CAPACITY).0,
            sessions: broadcast::channel(HUB_CAPACITY).0,
        }
    }

    /// Publishes a link event; like a Redis PUBLISH it reaches current subscribers only, which is
    /// why the bridge remembers recent ones for websites that link late.
    pub fn publish_authenticated(&self, event: Authenticated) {
        let _ = self.authenticated.send(event);
    }

    pub fn subscribe_authenticated(&self) -> broadcast::Receiver<Authenticated> {
        self.authenticated.subscribe()
    }

    /// Publishes a signal to the subscribers that want it, by its origin. Each direction has its
    /// own channel because every subscriber a signal reaches is a task woken, and at a few
    /// thousand signals a second wakeups, not work, were most of a node's CPU: the mesh does not
    /// wake for what it brought in, nor a lone bridge for what it sent.
    pub fn publish_signal(&self, signal: Signal) {
        if signal.origin.is_local() {
            // Each bridge holds one receiver: with two or more, one may want another's signals.
            if self.relayed_signals.receiver_count() > 1 {
                let _ = self.relayed_signals.send(signal.clone());
            }
            let _ = self.outbound_signals.send(signal);
        } else {
            let _ = self.relayed_signals.send(signal);
        }
    }

    /// Signals published in this process, for the mesh to send to other nodes.
    pub fn subscribe_outbound_signals(&self) -> broadcast::Receiver<Signal> {
        self.outbound_signals.subscribe()
    }

    /// Signals a bridge relays to its sockets: every other node's, and other bridges' of this
    /// process. A bridge subscribes once and skips its own (they may be among them).
    pub fn subscribe_relayed_signals(&self) -> broadcast::Receiver<Signal> {
        self.relayed_signals.subscribe()
    }

    pub fn publish_presence(&self, presence: Presence) {
        let _ = self.presence.send(presence);
    }

    pub fn subscribe_presence(&self) -> broadcast::Receiver<Presence> {
        self.presence.subscribe()
    }

    pub fn publish_session_changed(&self, changed: SessionChanged) {
        let _ = self.sessions.send(changed);
    }

    pub fn subscribe_session_changes(&self) -> broadcast::Receiver<SessionChanged> {
        self.sessions.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(origin: Origin) -> Signal {
        Signal {
            room: Room::Wallet("W".into()),
            kind: SignalKind::OfferCandidate,
            payload: Arc::new(Value::Null),
            origin,
            sender: "s".into(),
            pair_here: false,
        }
    }

    #[test]
    fn signals_reach_only_the_subscribers_of_their_direction() {
        let hub = Hub::new();
        let mut mesh = hub.subscribe_outbound_signals();
        let mut bridge = hub.subscribe_relayed_signals();

        hub.publish_signal(signal(Origin::Local(1)));
        assert_eq!(mesh.try_recv().unwrap().origin, Origin::Local(1));
        assert!(
            bridge.try_recv().is_err(),
            "a lone bridge is not sent its own"
        );

        hub.publish_signal(signal(Origin::Remote(2)));
        assert_eq!(bridge.try_recv().unwrap().origin, Origin::Remote(2));
        assert!(
            mesh.try_recv().is_err(),
            "the mesh is not sent back what it brought"
        );

        // A second bridge on the hub must see the first one's signals.
        let mut other_bridge = hub.subscribe_relayed_signals();
        hub.publish_signal(signal(Origin::Local(1)));
        assert_eq!(other_bridge.try_recv().unwrap().origin, Origin::Local(1));
        assert_eq!(bridge.try_recv().unwrap().origin, Origin::Local(1));
        assert_eq!(mesh.try_recv().unwrap().origin, Origin::Local(1));
    }
}
