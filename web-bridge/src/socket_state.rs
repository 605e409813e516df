//! What the bridge keeps per socket, in one socket extension: the locks that serialise its room
//! and session changes, its session's ID, its signal queue, and how many of its links await
//! their answer. One allocation per socket, since 10,000 idle sockets hold one each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use socketioxide::extract::SocketRef;
use tokio::sync::{Mutex, mpsc};

use crate::hub::SignalKind;
use crate::session;

/// A cheap handle on one socket's state.
#[derive(Clone, Default)]
pub(crate) struct SocketState(Arc<Inner>);

#[derive(Default)]
pub(crate) struct Inner {
    /// Serialises room changes, so a signal racing the connect handler cannot make the same
    /// buffered signals replay twice.
    pub(crate) rooms: Mutex<()>,
    /// Serialises session reads and writes: a reload (which replaces the record in memory)
    /// between another task's insert and save would write the stale record back.
    pub(crate) session: Mutex<()>,
    /// The session's ID, once the session layer gave it one.
    pub(crate) session_id: OnceLock<session::Id>,
    /// The queue of the task relaying the socket's signals in order, from its first signal.
    pub(crate) signals: OnceLock<mpsc::Sender<(SignalKind, Value)>>,
    /// Links not answered yet. While any is, the socket joins its pairs' presence rooms only:
    /// liquid-client listens for the wallet's offer only once `link` is acknowledged, so an
    /// offer relayed (or replayed) before the ack would be lost.
    unanswered: AtomicUsize,
}

impl std::ops::Deref for SocketState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl SocketState {
    /// Gives a new socket its state.
    pub(crate) fn attach(socket: &SocketRef) {
        socket.extensions.insert(Self::default());
    }

    /// The socket's state (a fresh one, shared with no one, for a socket never attached).
    pub(crate) fn of(socket: &SocketRef) -> Self {
        socket.extensions.get::<Self>().unwrap_or_default()
    }

    /// Whether a link of the socket awaits its answer.
    pub(crate) fn holding(&self) -> bool {
        self.unanswered.load(Ordering::SeqCst) > 0
    }

    /// Counts one unanswered link until the returned guard is dropped.
    pub(crate) fn awaiting(&self) -> AwaitingAck {
        self.unanswered.fetch_add(1, Ordering::SeqCst);
        AwaitingAck(self.clone())
    }
}

/// One unanswered link; answered or dropped, it stops holding the socket back.
pub(crate) struct AwaitingAck(SocketState);

impl Drop for AwaitingAck {
    fn drop(&mut self) {
        self.0.unanswered.fetch_sub(1, Ordering::SeqCst);
    }
}
