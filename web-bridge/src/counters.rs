//! What the bridge has done since it started, as plain atomic counters that the node's metrics
//! read at scrape time (the bridge itself knows nothing of Prometheus).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::hub::SignalKind;

/// Monotonic counts; read them with [`BridgeCounters::snapshot`].
#[derive(Debug, Default)]
pub struct BridgeCounters {
    links_completed: AtomicU64,
    links_refused: AtomicU64,
    /// Signals from this bridge's sockets relayed, by kind (wire order).
    signals_local: [AtomicU64; 4],
    /// Signals from other bridges and nodes delivered to this bridge's sockets, by kind.
    signals_remote: [AtomicU64; 4],
    signals_dropped: AtomicU64,
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub links_completed: u64,
    pub links_refused: u64,
    pub signals_local: [u64; 4],
    pub signals_remote: [u64; 4],
    pub signals_dropped: u64,
}

fn index(kind: SignalKind) -> usize {
    SignalKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

impl BridgeCounters {
    pub(crate) fn link_completed(&self) {
        self.links_completed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn link_refused(&self) {
        self.links_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn signal_local(&self, kind: SignalKind) {
        self.signals_local[index(kind)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn signal_remote(&self, kind: SignalKind) {
        self.signals_remote[index(kind)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn signal_dropped(&self) {
        self.signals_dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        let read =
            |counters: &[AtomicU64; 4]| counters.each_ref().map(|c| c.load(Ordering::Relaxed));
        CountersSnapshot {
            links_completed: self.links_completed.load(Ordering::Relaxed),
            links_refused: self.links_refused.load(Ordering::Relaxed),
            signals_local: read(&self.signals_local),
            signals_remote: read(&self.signals_remote),
            signals_dropped: self.signals_dropped.load(Ordering::Relaxed),
        }
    }
}
