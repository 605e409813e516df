//! The Socket.IO bridge that keeps browsers and wallets speaking the original Liquid Auth
//! protocol working against liquid-mesh. It is mounted by the node on `/socket.io/` and talks to
//! the rest of the node only through a small publish/subscribe and session interface.
//!
//! Not built yet: this crate holds its place in the workspace until the bridge lands.
