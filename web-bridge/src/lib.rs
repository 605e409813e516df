//! The Socket.IO bridge: browsers and wallets that speak the original Liquid Auth protocol
//! (liquid-client, the Android and iOS wallets) link and signal through liquid-mesh unchanged.
//!
//! - [`hub`]: the small interface to the rest of the node, link events and signals keyed by
//!   request ID; the node publishes authentications there and the mesh carries it between nodes.
//! - [`bridge`]: the Socket.IO namespace, its events and the background tasks serving them.
//! - [`rendezvous`]: `link` meets authentication, in either order, within bounds.
//! - [`buffer`]: signals kept briefly for the side of a pair that has not joined yet.
//! - [`counters`]: what the bridge has done, for the node's metrics.
//! - [`session`]: a socket is its `connect.sid` HTTP session.
//! - [`request_id`]: request IDs exactly as clients send them.
//! - [`rate_limit`]: per-client-IP quotas, for `link` and the node's FIDO2 endpoints.

pub mod bridge;
pub mod buffer;
pub mod counters;
mod events;
pub mod hub;
pub mod rate_limit;
pub mod rendezvous;
pub mod request_id;
pub mod session;
mod socket_state;
mod view_cache;

pub use bridge::{Bridge, BridgeConfig, BridgeStats};
pub use hub::{Authenticated, Hub, Origin, Presence, Room, SessionChanged, Signal, SignalKind};
pub use request_id::RequestId;
