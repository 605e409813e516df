//! Test harness for liquid-mesh: real nodes on loopback port 0 over SQLite or PostgreSQL, and
//! wallets whose passkeys come from passkey-rs's software authenticator and whose liquid proofs
//! are real Ed25519 signatures. The suites under `tests/` use it for single-node API tests,
//! recorded-vector interop and multi-node simulations.

pub mod eio;
pub mod js;
pub mod load;
pub mod mesh;
pub mod node;
pub mod pairing;
pub mod process;
pub mod raw_peer;
pub mod usage;
pub mod wallet;

pub use node::{Backend, Endpoint, TestNode, socket_cookie};
pub use wallet::{Wallet, WalletOrigin};
