//! Load scenarios against running nodes, driven by the `liquid-mesh-load` binary (a process of
//! its own, so ten thousand sockets do not share the node's file descriptors): idle connections
//! held open, and pairs that link for real and then relay a steady stream of signals, counting
//! every message lost, duplicated, reordered or delivered to the wrong pair; and the cost of the
//! node's WebAuthn verifications on one core; and how long native peers take to set up their
//! direct channel.

pub mod idle;
pub mod native;
pub mod relay;
pub mod stats;
pub mod verify;

use url::Url;

/// A node known only by its base URL, `http://127.0.0.1:<port>`; its passkeys are for
/// `http://localhost:<port>`, as the test nodes are configured.
pub struct BaseUrl(pub String);

impl crate::Endpoint for BaseUrl {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.trim_end_matches('/'))
    }

    fn origin(&self) -> Url {
        let mut url = Url::parse(&self.0).expect("a base URL");
        url.set_host(Some("localhost")).expect("http URL");
        url
    }
}
