//! liquid-mesh: a Liquid Auth node.
//!
//! Map of the crate:
//! - [`config`]: what a node is configured with, from flags or the original's environment names.
//! - [`http`]: the axum routes of the original's HTTP API.
//! - [`fido`]: the WebAuthn relying party (webauthn-rs), one verifier per expected origin.
//! - [`liquid`], [`algorand`], [`algod`], [`request_id`]: the `liquid` extension and its parts.
//! - [`assetlinks`]: Android apps and the origin a User-Agent calls for.
//! - [`session`]: the `connect.sid` session shared with the Socket.IO bridge.
//! - [`store`]: users, credentials and pending ceremonies in SQLite or PostgreSQL.
//! - [`events`]: the in-process bus of "wallet authenticated for request ID" events.
//! - [`node`]: wiring it together and serving on a bound listener until shutdown.

pub mod algod;
pub mod algorand;
pub mod assetlinks;
pub mod config;
pub mod cose;
pub mod error;
pub mod events;
pub mod fido;
pub mod http;
pub mod liquid;
pub mod node;
pub mod request_id;
pub mod session;
pub mod store;
pub mod tls;

pub use config::Config;
pub use node::{Node, NodeError};
