//! The Socket.IO namespace `/` and what serves it. Event handlers are registered in a connect
//! middleware, which socketioxide runs before acknowledging the connection: registering them in
//! the connect handler loses about one `link` in 600 sent right after connecting.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, State};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::Sid;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tower_sessions::Session;

use crate::buffer::{BufferLimits, SignalBuffers};
use crate::counters::{BridgeCounters, CountersSnapshot};
use crate::events::SocketEvents;
use crate::hub::{Authenticated, Hub, Origin, Presence, Room, Signal, SignalKind};
use crate::rate_limit::{ClientLimiter, RateLimit};
use crate::rendezvous::{Linked, Rendezvous, RendezvousLimits};
use crate::request_id::RequestId;
use crate::session::{self, SessionView};
use crate::socket_state::{AwaitingAck, SocketState};
use crate::view_cache::ViewCache;

/// Limits and timings of the bridge; the defaults suit a public node.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// How long a `link` waits for its wallet, and how long an authentication waits for a late
    /// `link`. Default 10 minutes.
    pub link_ttl: Duration,
    /// Links one socket may have waiting at once. Default 8.
    pub max_links_per_socket: usize,
    /// Links the node holds waiting at once. Default 100,000.
    pub max_parked_links: usize,
    /// Early signals kept per pair: default 64 signals, 64 KiB, 60 s.
    pub buffer: BufferLimits,
    /// Largest Engine.IO payload (a polling body or a WebSocket message). Default 100 KB, the
    /// original's socket.io default (`maxHttpBufferSize`).
    pub max_payload_bytes: u64,
    /// Largest signal payload relayed, serialised. Default 64 KiB; an SDP is a few KiB.
    pub max_signal_bytes: usize,
    /// `link`s per client IP: default 30 a minute, bursts of 15; over it, `{error}` at once.
    pub link_rate: RateLimit,
    /// Take the client IP from `X-Forwarded-For` (set when a trusted proxy fronts the node).
    pub trust_proxy: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            link_ttl: Duration::from_secs(600),
            max_links_per_socket: 8,
            max_parked_links: 100_000,
            buffer: BufferLimits {
                count: 64,
                bytes: 64 * 1024,
                ttl: Duration::from_secs(60),
            },
            max_payload_bytes: 100_000,
            max_signal_bytes: 64 * 1024,
            link_rate: RateLimit::per_minute(30),
            trust_proxy: false,
        }
    }
}

/// The WebSocket read buffer per connection, held for the socket's life. 256 bytes hold a
/// candidate whole; an SDP takes a few more reads. 1 KiB cost 0.66 KiB more per idle socket (at
/// 10,000) for no measurable CPU at 10,000 relayed messages a second.
const WS_READ_BUFFER: usize = 256;

/// Packets one socket may have waiting to be written: socketioxide's 128, or more when the
/// early-signal buffer is larger, since a joiner is replayed a whole buffer at once and a packet
/// that finds the queue full is dropped. The queue allocates as it fills, so an idle socket pays
/// nothing for the room.
fn socket_queue(buffer: &BufferLimits) -> usize {
    (buffer.count + 64).max(128)
}

/// Devices per other bridge or node in one room, and when each was reported.
type DeviceCounts = HashMap<Origin, (usize, Instant)>;

/// What a parked `link` needs to complete.
struct Waiter {
    socket: Sid,
    session: Session,
    state: SocketState,
    ack: AckSender,
    /// Holds the socket out of its signal rooms until this link is answered (or dropped).
    _awaiting: AwaitingAck,
}

/// The room whose sessions `presence` counts: every socket of a request's pair, answered or not.
fn presence_room(request_id: &RequestId) -> String {
    format!("presence:{}", request_id.key())
}

pub(crate) struct Shared {
    hub: Hub,
    /// Opens a socket's session from its ID.
    sessions: session::SessionOpener,
    /// Tells this bridge's signals apart from other bridges' on the hub.
    id: u64,
    config: BridgeConfig,
    rendezvous: std::sync::Mutex<Rendezvous<Waiter>>,
    buffers: std::sync::Mutex<SignalBuffers>,
    /// Devices other bridges and nodes reported per pair room key, and when.
    remote_presence: std::sync::Mutex<HashMap<String, DeviceCounts>>,
    link_limiter: Option<ClientLimiter>,
    counters: BridgeCounters,
    views: std::sync::Mutex<ViewCache>,
}

/// Reads what the bridge holds now; cheap to clone.
#[derive(Clone)]
pub struct BridgeStats {
    io: SocketIo,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for BridgeStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeStats")
            .field("sockets", &self.sockets())
            .finish()
    }
}

impl BridgeStats {
    /// Connected sockets.
    pub fn sockets(&self) -> usize {
        self.io.of("/").map_or(0, |ns| ns.sockets().len())
    }

    /// Links waiting for their wallet.
    pub fn parked_links(&self) -> usize {
        lock(&self.shared.rendezvous).parked()
    }

    /// What the bridge has done so far.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }
}

/// The running bridge: its tower layer is mounted by the node; dropping it stops its tasks.
pub struct Bridge {
    layer: Option<SocketIoLayer>,
    io: SocketIo,
    shared: Arc<Shared>,
    _tasks: JoinSet<()>,
}

impl Bridge {
    /// Builds the namespace and starts the tasks that complete links and relay other bridges'
    /// signals. Must run inside a tokio runtime.
    pub fn new(hub: Hub, config: BridgeConfig, sessions: session::SessionOpener) -> Self {
        let shared = Arc::new(Shared {
            sessions,
            id: rand::random(),
            rendezvous: std::sync::Mutex::new(Rendezvous::new(RendezvousLimits {
                ttl: config.link_ttl,
                per_socket: config.max_links_per_socket,
                per_node: config.max_parked_links,
            })),
            buffers: std::sync::Mutex::new(SignalBuffers::new(config.buffer)),
            remote_presence: std::sync::Mutex::default(),
            link_limiter: ClientLimiter::new(config.link_rate, config.trust_proxy),
            counters: BridgeCounters::default(),
            views: std::sync::Mutex::default(),
            hub,
            config,
        });
        let max_message = usize::try_from(shared.config.max_payload_bytes).unwrap_or(usize::MAX);
        let (layer, io) = SocketIo::builder()
            .max_payload(shared.config.max_payload_bytes)
            .ws_max_message_size(max_message)
            .ws_max_frame_size(max_message)
            // Measured: a 16 KiB read buffer costs 12 KB per idle connection, 1 KiB costs
            // little and reads signals (a few hundred bytes) in one go anyway.
            .ws_read_buffer_size(WS_READ_BUFFER)
            .max_buffer_size(socket_queue(&shared.config.buffer))
            .with_state(shared.clone())
            .build_layer();
        io.ns("/", on_connect.with(register_handlers));

        let mut tasks = JoinSet::new();
        tasks.spawn(complete_links(io.clone(), shared.clone()));
        tasks.spawn(relay_remote_signals(io.clone(), shared.clone()));
        tasks.spawn(track_remote_presence(io.clone(), shared.clone()));
        tasks.spawn(drop_changed_views(shared.clone()));
        tasks.spawn(sweep(shared.clone()));
        Self {
            layer: Some(layer),
            io,
            shared,
            _tasks: tasks,
        }
    }

    /// The layer to mount (once) around the node's router.
    pub fn take_layer(&mut self) -> Option<SocketIoLayer> {
        self.layer.take()
    }

    /// A handle that reads the bridge's counts, for health and metrics.
    pub fn stats(&self) -> BridgeStats {
        BridgeStats {
            io: self.io.clone(),
            shared: self.shared.clone(),
        }
    }

    /// Stops the bridge's tasks, then closes every socket at its transport.
    pub async fn close(mut self) {
        // The tasks broadcast to the namespace, which closing removes.
        self._tasks.shutdown().await;
        self.io.close().await;
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain data behind; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The socket's session, opened afresh from its ID once it has one (see
/// [`session::SessionOpener`]); until then, the handshake's handle.
fn session_of(socket: &SocketRef, shared: &Shared) -> Option<Session> {
    let known = SocketState::of(socket);
    if let Some(id) = known.session_id.get() {
        return Some((shared.sessions)(*id));
    }
    let slot = socket
        .req_parts()
        .extensions
        .get::<session::HandshakeSession>()?;
    let handle = slot.handle()?;
    if let Some(id) = handle.id()
        && known.session_id.set(id).is_ok()
    {
        slot.release();
    }
    Some(handle)
}

/// The socket's session's ID, without opening the session.
fn session_id_of(socket: &SocketRef) -> Option<session::Id> {
    if let Some(id) = SocketState::of(socket).session_id.get() {
        return Some(*id);
    }
    socket
        .req_parts()
        .extensions
        .get::<session::HandshakeSession>()?
        .handle()?
        .id()
}

/// Signals one socket may have waiting to be relayed; beyond it, its newest are dropped.
const SIGNAL_QUEUE: usize = 256;

async fn register_handlers(socket: SocketRef) -> Result<(), std::convert::Infallible> {
    SocketState::attach(&socket);
    // One stateless handler for every event (`events.rs`), none per event name.
    socket.on_fallback(SocketEvents);
    socket.on_disconnect(on_disconnect);
    Ok(())
}

/// Hands one signal to the socket's relaying task. Relaying awaits the session store, and a task
/// per event would let two signals of one socket pass each other, so signals queue in arrival
/// order for one task, started with the socket's first signal (most sockets of an idle node
/// never send one).
pub(crate) fn queue_signal(
    socket: &SocketRef,
    io: &SocketIo,
    shared: &Arc<Shared>,
    kind: SignalKind,
    payload: Value,
) {
    let state = SocketState::of(socket);
    let queue = state
        .signals
        .get_or_init(|| relay_queue(io.clone(), shared.clone(), socket.id));
    if queue.try_send((kind, payload)).is_err() {
        shared.counters.signal_dropped();
        tracing::debug!(socket = %socket.id, "signal queue full; signal dropped");
    }
}

/// Starts the task that relays one socket's signals in order. It holds no reference to the
/// socket (whose state holds the queue), so the queue closes and the task ends when the
/// disconnected socket is dropped.
fn relay_queue(io: SocketIo, shared: Arc<Shared>, sid: Sid) -> mpsc::Sender<(SignalKind, Value)> {
    let (queue, mut queued) = mpsc::channel::<(SignalKind, Value)>(SIGNAL_QUEUE);
    tokio::spawn(async move {
        while let Some((kind, payload)) = queued.recv().await {
            if let Some(socket) = io.get_socket(sid) {
                on_signal(&socket, &shared, kind, payload).await;
            }
        }
    });
    queue
}

async fn on_connect(socket: SocketRef, io: SocketIo, State(shared): State<Arc<Shared>>) {
    let rooms = join_session_rooms(&socket, &shared).await;
    for room in rooms {
        push_presence(&io, &shared, &room).await;
    }
}

/// Joins the rooms the session calls for, leaves stale ones, and replays what a newly joined
/// room buffered. Returns the rooms newly joined.
async fn join_session_rooms(socket: &SocketRef, shared: &Shared) -> Vec<Room> {
    match load_view(socket, shared).await {
        Some(view) => join_rooms(socket, shared, &view).await,
        None => Vec::new(),
    }
}

/// What the socket's session says: the cached view while no change was announced, else read
/// from the store (and cached).
async fn load_view(socket: &SocketRef, shared: &Shared) -> Option<SessionView> {
    let cached = lock(&shared.views).get(socket.id);
    match cached {
        Some(view) => Some(view),
        None => read_view(socket, shared).await,
    }
}

/// The socket's session as it is now in the store.
async fn read_view(socket: &SocketRef, shared: &Shared) -> Option<SessionView> {
    let session = session_of(socket, shared)?;
    let state = SocketState::of(socket);
    let _held = state.session.lock().await;
    let epoch = lock(&shared.views).epoch;
    let view = match SessionView::load(&session).await {
        Ok(view) => view,
        Err(err) => {
            tracing::warn!(%err, "socket session unavailable");
            return None;
        }
    };
    if let Some(id) = session.id() {
        let mut cache = lock(&shared.views);
        if cache.epoch == epoch {
            cache.insert(socket.id, session::session_tag(&id), view.clone());
        }
    }
    Some(view)
}

/// Joins the rooms `view` calls for (see [`join_session_rooms`]): each request's presence room,
/// and, unless a link of the socket awaits its ack, the signal rooms, replaying what they
/// buffered. Returns the pairs whose presence the socket newly joined.
async fn join_rooms(socket: &SocketRef, shared: &Shared, view: &SessionView) -> Vec<Room> {
    let state = SocketState::of(socket);
    let _held = state.rooms.lock().await;
    let wanted = view.rooms();
    let holding = state.holding();
    let mut wanted_names: HashSet<String> = HashSet::new();
    for room in &wanted {
        if let Room::Request(id) = room {
            wanted_names.insert(presence_room(id));
        }
        wanted_names.insert(room.name());
    }
    let current: HashSet<String> = socket.rooms().into_iter().map(|r| r.to_string()).collect();
    for stale in current
        .iter()
        .filter(|r| is_pair_room(r) && !wanted_names.contains(*r))
    {
        socket.leave(stale.clone());
    }
    let mut joined = Vec::new();
    for room in wanted {
        if let Room::Request(id) = &room
            && !current.contains(&presence_room(id))
        {
            socket.join(presence_room(id));
            joined.push(room.clone());
        }
        if holding || current.contains(&room.name()) {
            continue;
        }
        // Relaying sends and buffers a signal under this lock (see `relay`), so each signal of
        // the room reaches the socket once: replayed if it came before the join, else live.
        let mut buffers = lock(&shared.buffers);
        socket.join(room.name());
        for signal in buffers.replay(&room, socket.id.as_str(), Instant::now()) {
            let _ = socket.emit(signal.kind.event(), &*signal.payload);
        }
    }
    joined
}

/// The sockets of a room of namespace `/`; `None` once the bridge has closed (socketioxide's own
/// `within` panics then).
fn within(io: &SocketIo, room: String) -> Option<socketioxide::operators::BroadcastOperators> {
    io.of("/").map(|ns| ns.within(room))
}

fn is_pair_room(name: &str) -> bool {
    ["request:", "wallet:", "presence:"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// How long `value` is as JSON, counted as it serialises rather than by building the text: the
/// size decides whether a signal is relayed and what its replay buffer holds.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

async fn on_signal(socket: &SocketRef, shared: &Shared, kind: SignalKind, payload: Value) {
    // One view of the session per signal: it decides both the rooms and the destination.
    let Some(mut view) = load_view(socket, shared).await else {
        return;
    };
    if view.signal_room().is_none() {
        // Before dropping a signal for want of a pair, make sure the store agrees.
        let Some(fresh) = read_view(socket, shared).await else {
            return;
        };
        view = fresh;
    }
    join_rooms(socket, shared, &view).await;
    let Some(room) = view.signal_room() else {
        shared.counters.signal_dropped();
        tracing::debug!(socket = %socket.id, event = kind.event(), "signal from a session with no pair dropped");
        return;
    };
    relay(socket, shared, room, kind, payload);
}

/// Sends a signal to the other members of `room` here, keeps it for late joiners, and hands it
/// to the hub for other bridges and nodes. Nothing in it waits.
fn relay(socket: &SocketRef, shared: &Shared, room: Room, kind: SignalKind, payload: Value) {
    let bytes = json_len(&payload);
    if bytes > shared.config.max_signal_bytes {
        shared.counters.signal_dropped();
        tracing::debug!(socket = %socket.id, bytes, "oversized signal dropped");
        return;
    }
    shared.counters.signal_local(kind);
    let signal = Signal {
        pair_here: pair_is_here(socket, shared, &room),
        room,
        kind,
        payload: Arc::new(payload),
        origin: Origin::Local(shared.id),
        sender: socket.id.to_string(),
    };
    {
        let mut buffers = lock(&shared.buffers);
        let members = socket.to(signal.room.name());
        broadcast_now(members.emit(kind.event(), &*signal.payload));
        buffers.push(signal.clone(), bytes, Instant::now());
    }
    shared.hub.publish_signal(signal);
}

/// Finishes a broadcast to this bridge's sockets at once, so a caller may hold a lock across it:
/// socketioxide's local adapter sends within the call (its future is `ready`).
fn broadcast_now(emit: impl Future<Output = Result<(), socketioxide::BroadcastError>>) {
    let emit = std::pin::pin!(emit);
    match emit.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(err)) => tracing::debug!(%err, "relaying a signal failed"),
        Poll::Pending => tracing::error!("a local broadcast waited; signal not relayed here"),
    }
}

/// Whether the sender's whole pair is here: another session has a socket of this bridge in
/// `room`, and no other bridge or node reported a member of it. Rooms of wallets (clients that
/// never link) have no presence, so their signals always count as wanted elsewhere.
fn pair_is_here(socket: &SocketRef, shared: &Shared, room: &Room) -> bool {
    let Room::Request(id) = room else {
        return false;
    };
    if lock(&shared.remote_presence).contains_key(&id.key()) {
        return false;
    }
    let sender = session_id_of(socket);
    socket
        .to(room.name())
        .sockets()
        .iter()
        .any(|other| sender.is_none() || session_id_of(other) != sender)
}

pub(crate) async fn on_link(
    socket: SocketRef,
    io: SocketIo,
    State(shared): State<Arc<Shared>>,
    Data(body): Data<Value>,
    ack: AckSender,
) {
    if let Some(limiter) = &shared.link_limiter
        && let Err(wait) = limiter.check(socket.req_parts())
    {
        tracing::debug!(socket = %socket.id, ?wait, "link rate-limited");
        shared.counters.link_refused();
        return refuse(
            ack,
            &format!("rate limited; retry in {} s", wait.as_secs() + 1),
        );
    }
    let request_id = match body.get("requestId").cloned().map(RequestId::try_from) {
        Some(Ok(id)) => id,
        Some(Err(err)) => {
            shared.counters.link_refused();
            return refuse(ack, &err.to_string());
        }
        None => {
            shared.counters.link_refused();
            return refuse(ack, "link needs a requestId");
        }
    };
    let Some(session) = session_of(&socket, &shared) else {
        shared.counters.link_refused();
        return refuse(ack, "socket has no session");
    };
    let waiter = Waiter {
        socket: socket.id,
        session: session.clone(),
        state: SocketState::of(&socket),
        ack,
        _awaiting: SocketState::of(&socket).awaiting(),
    };
    let outcome =
        lock(&shared.rendezvous).link(request_id.key(), socket.id.as_str(), waiter, Instant::now());
    let ready = match outcome {
        Ok(Linked::Ready(auth, waiter)) => Some((auth, waiter)),
        Ok(Linked::Parked) => None,
        Err((refused, waiter)) => {
            shared.counters.link_refused();
            tracing::debug!(socket = %socket.id, %refused, "link refused");
            refuse(waiter.ack, &refused.to_string());
            return;
        }
    };
    // The session remembers the request so the website's signals reach its pair even before
    // the wallet authenticates, and so a reconnecting socket rejoins it.
    let recorded = {
        let state = SocketState::of(&socket);
        let _held = state.session.lock().await;
        session::record_request(&session, &request_id).await
    };
    if let Err(err) = recorded {
        tracing::warn!(%err, "recording a link in its session failed");
    }
    // The store's change notice reaches the cache asynchronously; the writer must not read its
    // own stale view in the meantime.
    lock(&shared.views).forget_socket(socket.id);
    for room in join_session_rooms(&socket, &shared).await {
        push_presence(&io, &shared, &room).await;
    }
    if let Some((auth, waiter)) = ready {
        complete(&io, &shared, waiter, &auth).await;
    }
}

fn refuse(ack: AckSender, reason: &str) {
    let _ = ack.send(&json!({"error": reason}));
}

/// Completes a link: the website's session becomes the wallet's, then `link` is acknowledged
/// (so `/auth/session` already shows the wallet to the website), and only then does the socket
/// join its pair's signal rooms and get what they buffered (so the wallet's offer cannot
/// overtake the ack liquid-client waits for before it listens for offers).
async fn complete(io: &SocketIo, shared: &Shared, waiter: Waiter, auth: &Authenticated) {
    let recorded = {
        let _held = waiter.state.session.lock().await;
        session::record_link(&waiter.session, auth).await
    };
    if let Err(err) = recorded {
        tracing::warn!(%err, "writing the linked wallet into the session failed");
    }
    lock(&shared.views).forget_socket(waiter.socket);
    let ack = json!({"data": {
        "credId": auth.cred_id,
        "requestId": auth.request_id,
        "wallet": auth.wallet,
    }});
    shared.counters.link_completed();
    let Waiter {
        socket,
        ack: sender,
        _awaiting: answered,
        ..
    } = waiter;
    if let Err(err) = sender.send(&ack) {
        tracing::debug!(%err, "link acknowledgement not delivered");
    }
    drop(answered);
    if let Some(socket) = io.get_socket(socket) {
        for room in join_session_rooms(&socket, shared).await {
            push_presence(io, shared, &room).await;
        }
    }
}

pub(crate) async fn on_presence(
    io: SocketIo,
    State(shared): State<Arc<Shared>>,
    Data(body): Data<Value>,
    ack: AckSender,
) {
    match body.get("requestId").cloned().map(RequestId::try_from) {
        Some(Ok(id)) => {
            let local = sessions_in(&io, &presence_room(&id), None);
            let _ = ack.send(&presence_json(&shared, &id, local));
        }
        _ => refuse(ack, "presence needs a requestId"),
    }
}

/// `{requestId, deviceCount, online}`: sessions with a socket in the pair's room, `local` of them
/// on this bridge and the rest as other bridges and nodes last reported.
fn presence_json(shared: &Shared, request_id: &RequestId, local: usize) -> Value {
    let remote: usize = lock(&shared.remote_presence)
        .get(&request_id.key())
        .map_or(0, |by_origin| by_origin.values().map(|(n, _)| n).sum());
    let devices = local + remote;
    json!({"requestId": request_id.as_json(), "deviceCount": devices, "online": devices > 1})
}

/// Distinct sessions with a socket in `room`, not counting `leaving`.
fn sessions_in(io: &SocketIo, room: &str, leaving: Option<Sid>) -> usize {
    within(io, room.to_owned())
        .map(|ops| ops.sockets())
        .unwrap_or_default()
        .iter()
        .filter(|s| Some(s.id) != leaving)
        .map(|s| session_id_of(s).map_or_else(|| s.id.to_string(), |id| id.to_string()))
        .collect::<HashSet<_>>()
        .len()
}

/// Tells the room (and, through the hub, other bridges and nodes) how many are in it now.
async fn push_presence(io: &SocketIo, shared: &Shared, room: &Room) {
    let Room::Request(id) = room else { return };
    let local = sessions_in(io, &presence_room(id), None);
    announce(io, shared, id, local, None).await;
}

async fn announce(
    io: &SocketIo,
    shared: &Shared,
    request_id: &RequestId,
    local: usize,
    except: Option<Sid>,
) {
    shared.hub.publish_presence(Presence {
        request_id: request_id.clone(),
        devices: local,
        origin: Origin::Local(shared.id),
    });
    let presence = presence_json(shared, request_id, local);
    let Some(room) = within(io, presence_room(request_id)) else {
        return;
    };
    let _ = match except {
        Some(sid) => room.except(sid).emit("presence", &presence).await,
        None => room.emit("presence", &presence).await,
    };
}

async fn on_disconnect(socket: SocketRef, io: SocketIo, State(shared): State<Arc<Shared>>) {
    lock(&shared.rendezvous).socket_gone(socket.id.as_str());
    lock(&shared.views).forget_socket(socket.id);
    for name in socket.rooms() {
        let Some(request_id) = name.strip_prefix("presence:").and_then(RequestId::from_key) else {
            continue;
        };
        // The socket is still listed in its rooms here, so count without it.
        let local = sessions_in(&io, &name, Some(socket.id));
        announce(&io, &shared, &request_id, local, Some(socket.id)).await;
    }
}

/// Completes parked links as wallets authenticate, on this node or (through the hub) another.
async fn complete_links(io: SocketIo, shared: Arc<Shared>) {
    let mut events = shared.hub.subscribe_authenticated();
    loop {
        let auth = match events.recv().await {
            Ok(auth) => auth,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "bridge fell behind on link events");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let waiters = lock(&shared.rendezvous).authenticated(&auth, Instant::now());
        for waiter in waiters {
            complete(&io, &shared, waiter, &auth).await;
        }
    }
}

/// Relays signals other bridges published to this bridge's members of the room.
async fn relay_remote_signals(io: SocketIo, shared: Arc<Shared>) {
    let mut signals = shared.hub.subscribe_relayed_signals();
    loop {
        let signal = match signals.recv().await {
            Ok(signal) if signal.origin != Origin::Local(shared.id) => signal,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "bridge fell behind on relayed signals");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let bytes = json_len(&signal.payload);
        shared.counters.signal_remote(signal.kind);
        // Sent and kept under one lock, as a local signal is (see `relay`).
        let mut buffers = lock(&shared.buffers);
        if let Some(room) = within(&io, signal.room.name()) {
            broadcast_now(room.emit(signal.kind.event(), &*signal.payload));
        }
        buffers.push(signal, bytes, Instant::now());
    }
}

/// Keeps other bridges' and nodes' device counts, and tells this bridge's members of a room when
/// the total changes.
async fn track_remote_presence(io: SocketIo, shared: Arc<Shared>) {
    let mut reports = shared.hub.subscribe_presence();
    loop {
        let report = match reports.recv().await {
            Ok(report) if report.origin != Origin::Local(shared.id) => report,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "bridge fell behind on presence");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let key = report.request_id.key();
        {
            let mut table = lock(&shared.remote_presence);
            if report.devices > 0 {
                table
                    .entry(key)
                    .or_default()
                    .insert(report.origin, (report.devices, Instant::now()));
            } else if let Some(by_origin) = table.get_mut(&key) {
                by_origin.remove(&report.origin);
                if by_origin.is_empty() {
                    table.remove(&key);
                }
            }
        }
        let room = presence_room(&report.request_id);
        let local = sessions_in(&io, &room, None);
        if local > 0 {
            let presence = presence_json(&shared, &report.request_id, local);
            if let Some(room) = within(&io, room) {
                let _ = room.emit("presence", &presence).await;
            }
        }
    }
}

/// Drops the cached views of sessions the store says changed, on this node or one sharing it.
async fn drop_changed_views(shared: Arc<Shared>) {
    let mut changes = shared.hub.subscribe_session_changes();
    loop {
        let changed = match changes.recv().await {
            Ok(changed) => Some(changed.tag),
            // Some notices were missed: trust no view.
            Err(broadcast::error::RecvError::Lagged(_)) => None,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let mut cache = lock(&shared.views);
        cache.epoch += 1;
        match changed {
            Some(tag) => cache.forget_session(&tag),
            None => cache.clear(),
        }
    }
}

async fn sweep(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = Instant::now();
        let expired = lock(&shared.rendezvous).sweep(now);
        if expired > 0 {
            tracing::debug!(expired, "parked links expired");
        }
        lock(&shared.buffers).expire(now);
        if let Some(limiter) = &shared.link_limiter {
            limiter.retain_recent();
        }
        // A node that vanished never reports zero; its counts lapse with the links they served.
        let ttl = shared.config.link_ttl;
        lock(&shared.remote_presence).retain(|_, by_origin| {
            by_origin.retain(|_, (_, at)| now.duration_since(*at) < ttl);
            !by_origin.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_is_the_length_of_the_serialised_text() {
        for value in [
            json!("v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"),
            json!({"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host", "sdpMid": "0", "sdpMLineIndex": 0}),
            json!(null),
            json!([1, "é\u{1}", {"a": []}]),
        ] {
            assert_eq!(json_len(&value), serde_json::to_vec(&value).unwrap().len());
        }
    }
}
