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
//! - [`hub`]: re-exported from the bridge: link events and signals keyed by request ID.
//! - [`mesh`]: the libp2p federation that carries the hub between nodes.
//! - [`metrics`]: Prometheus metrics at `/metrics`.
//! - [`peer`]: native wallets and websites that join the mesh and pair over a direct channel.
//! - [`node`]: wiring it together and serving on a bound listener until shutdown.
//! - [`untrusted`]: every decoder of client and peer bytes, one entry point each, for fuzzing.

pub mod algod;
pub mod algorand;
pub mod assetlinks;
pub mod config;
pub mod cose;
pub mod error;
pub mod fido;
pub mod http;
pub mod liquid;
pub mod mesh;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod session;
pub mod store;
pub mod tls;
pub mod untrusted;

pub use config::Config;
pub use liquid_mesh_web_bridge::{buffer, hub, rate_limit, request_id};
pub use node::{Node, NodeError};
