//! What the mesh task has done, as atomic counters the node's metrics read at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct MeshCounters {
    pub(super) peers: AtomicU64,
    pub(super) published: AtomicU64,
    pub(super) accepted: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) synced: AtomicU64,
    pub(super) publish_failed: AtomicU64,
    pub(super) gossiped: AtomicU64,
    pub(super) deferred: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeshSnapshot {
    /// Peers connected now.
    pub peers: u64,
    /// Events this node sent to the mesh.
    pub published: u64,
    /// Valid messages from peers that were new here (they went on the hub).
    pub accepted: u64,
    /// Valid messages already seen (by gossip and by sync, or by two paths).
    pub duplicates: u64,
    /// Messages refused (undecodable, wrong version or shard, invalid fields).
    pub rejected: u64,
    /// New envelopes learnt from a peer's sync answer.
    pub synced: u64,
    /// Gossip messages the mesh refused to send (every peer's send queue full); their events
    /// stay in the recent buffer that peers sync from when they reconnect.
    pub publish_failed: u64,
    /// Gossip messages this node sent: fewer than events published when batches formed.
    pub gossiped: u64,
    /// Signals of pairs wholly on this node, sent after [`super::MeshConfig::pair_here_delay`].
    pub deferred: u64,
}

impl MeshCounters {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MeshSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MeshSnapshot {
            peers: read(&self.peers),
            published: read(&self.published),
            accepted: read(&self.accepted),
            duplicates: read(&self.duplicates),
            rejected: read(&self.rejected),
            synced: read(&self.synced),
            publish_failed: read(&self.publish_failed),
            gossiped: read(&self.gossiped),
            deferred: read(&self.deferred),
        }
    }
}
