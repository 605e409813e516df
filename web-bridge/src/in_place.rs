//! Socket.IO event handlers that run in place, in the task that read the event. socketioxide
//! spawns a task for every event a closure handler gets; for a handler that only hands its
//! payload on (the signal events), waking a worker thread for that task cost more than the work.

use std::sync::Arc;

use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{Data, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler, Value};
use socketioxide::socket::Socket;

/// A handler that must not block or await: it is called synchronously with the event's JSON
/// payload.
pub struct InPlace<F>(pub F);

/// Tells socketioxide's handler impls apart from this one.
pub enum Synchronous {}

impl<F> MessageHandler<LocalAdapter, Synchronous> for InPlace<F>
where
    F: Fn(&SocketRef, serde_json::Value) + Send + Sync + 'static,
{
    fn call(&self, socket: Arc<Socket>, mut data: Value, ack_id: Option<i64>) {
        let Ok(socket_ref) = SocketRef::from_message_parts(&socket, &mut data, &ack_id);
        match Data::<serde_json::Value>::from_message_parts(&socket, &mut data, &ack_id) {
            Ok(Data(payload)) => (self.0)(&socket_ref, payload),
            Err(err) => tracing::debug!(socket = %socket.id, %err, "undecodable event ignored"),
        }
    }
}
