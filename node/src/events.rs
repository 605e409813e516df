//! The in-process bus of link events. HTTP handlers publish "a wallet authenticated for this
//! request ID"; the Socket.IO bridge and the mesh subscribe and carry it to the waiting website.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::request_id::RequestId;

/// How many events a slow subscriber may fall behind before it starts losing the oldest.
pub const BUS_CAPACITY: usize = 4096;

/// A wallet proved itself in a ceremony that named `request_id`: the `auth` message of the
/// original, `{requestId, wallet, credId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authenticated {
    pub request_id: RequestId,
    pub wallet: String,
    pub cred_id: String,
}

/// A cheap, clonable handle on the bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Authenticated>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    /// Publishes an event; it is dropped when nobody listens, like a Redis PUBLISH.
    pub fn publish(&self, event: Authenticated) {
        let _ = self.sender.send(event);
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Authenticated> {
        self.sender.subscribe()
    }
}
