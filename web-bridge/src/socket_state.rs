//! What the bridge keeps per socket, in one socket extension: the locks that serialise its room
//! and session changes, its session's ID, its signal queue, and how many of its links await
//! their answer. One allocation per socket, since 10,000 idle sockets hold one each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use socketioxide::extract::SocketRef;
use tokio::sync::{Mutex, mpsc};

use crate::hub::SignalKind;
use crate::session::{self, SessionView};

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
    /// The queue of the task relaying the socket's signals in order, from the first signal that
    /// could not be relayed at once.
    pub(crate) signals: OnceLock<mpsc::Sender<(SignalKind, Value)>>,
    /// The socket's signals being relayed: decides whether the next may be relayed at once.
    pub(crate) in_flight: InFlight,
    /// The view and hold the socket's rooms were last joined for; `None` while rooms change.
    joined: std::sync::Mutex<Option<(SessionView, bool)>>,
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

    /// Whether the socket's rooms are those `view` calls for now: they were last joined for it,
    /// with the same hold, and no change is under way.
    pub(crate) fn joined_for(&self, view: &SessionView) -> bool {
        let joined = self.joined.lock().unwrap_or_else(|p| p.into_inner());
        matches!(&*joined, Some((last, hold)) if last == view && *hold == self.holding())
    }

    /// Records what the socket's rooms are being changed for: `None` while they change, then
    /// the view and hold they were joined for.
    pub(crate) fn set_joined(&self, joined: Option<(SessionView, bool)>) {
        *self.joined.lock().unwrap_or_else(|p| p.into_inner()) = joined;
    }

    /// Counts one unanswered link until the returned guard is dropped.
    pub(crate) fn awaiting(&self) -> AwaitingAck {
        self.unanswered.fetch_add(1, Ordering::SeqCst);
        AwaitingAck(self.clone())
    }
}

/// How many of a socket's signals are being relayed or wait in its queue.
#[derive(Default)]
pub(crate) struct InFlight(AtomicUsize);

impl InFlight {
    /// Counts one more signal; true when none was in flight, so it may be relayed at once and
    /// still keep the socket's order.
    pub(crate) fn enter(&self) -> bool {
        let idle = self
            .0
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !idle {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
        idle
    }

    /// One signal relayed (or dropped).
    pub(crate) fn done(&self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One unanswered link; answered or dropped, it stops holding the socket back.
pub(crate) struct AwaitingAck(SocketState);

impl Drop for AwaitingAck {
    fn drop(&mut self) {
        self.0.unanswered.fetch_sub(1, Ordering::SeqCst);
    }
}
