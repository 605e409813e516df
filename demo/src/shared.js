// Helpers both demo pages use: the status line, live presence and the chat over the data channel.

export const $ = (id) => document.getElementById(id);

/** The page's status line, remembering every value it showed (tests read them in order). */
export function statusLine(element) {
  const seen = [];
  return {
    seen,
    get: () => element.textContent,
    set(value) {
      if (seen[seen.length - 1] !== value) seen.push(value);
      element.textContent = value;
      element.dataset.state = value.replace(/\s+/g, "-");
    },
  };
}

/** A short explanation under the status, for what the user should do next or what went wrong. */
export function hint(text, kind = "info") {
  const element = $("hint");
  if (!element) return;
  element.textContent = text;
  element.dataset.kind = kind;
}

/**
 * "2 devices, online": how many sessions (browsers, phones) the node counts in this request's
 * pair. Two tabs of one browser share a session, so they count as one device.
 */
export function describePresence({ deviceCount, online }, connected = false) {
  const count = Number(deviceCount) || 0;
  if (count === 0) return "no devices yet";
  if (count === 1 && connected) return "1 device (tabs of one browser count as one)";
  if (count === 1) return "1 device, waiting for the other";
  return `${count} devices, ${online ? "online" : "offline"}`;
}

/**
 * Shows the node's `presence` events for `requestId()` in `element`. The node pushes them on every
 * join and leave of the pair; `refresh()` asks it once more (acked).
 */
export function watchPresence(socket, requestId, element, connected = () => false) {
  let last = null;
  const render = (presence) => {
    if (!presence || typeof presence !== "object" || "error" in presence) return;
    if (String(presence.requestId) !== String(requestId())) return;
    last = presence;
    element.textContent = describePresence(presence, connected());
    element.dataset.online = presence.online ? "yes" : "no";
  };
  socket.on("presence", render);
  return {
    /** Renders the last presence again (the connection state changed) and asks for a new one. */
    refresh() {
      if (last) render(last);
      if (socket.connected) socket.emit("presence", { requestId: requestId() }, render);
    },
  };
}

/** Resolves once the data channel is open. */
export function opened(channel) {
  if (channel.readyState === "open") return Promise.resolve(channel);
  return new Promise((resolve, reject) => {
    channel.addEventListener("open", () => resolve(channel), { once: true });
    channel.addEventListener("close", () => reject(new Error("the data channel closed")), {
      once: true,
    });
  });
}

/**
 * Calls `onGone` once when the peer connection ends (the data channel closes, or ICE reports the
 * other side disconnected), and closes ours when this page goes away, so the other side hears
 * of it at once instead of after ICE's consent checks time out.
 */
export function watchPeer(peerConnection, channel, onGone) {
  let gone = false;
  const end = () => {
    if (gone) return;
    gone = true;
    onGone();
  };
  channel.addEventListener("close", end);
  peerConnection?.addEventListener("connectionstatechange", () => {
    if (["disconnected", "failed", "closed"].includes(peerConnection.connectionState)) end();
  });
  addEventListener("pagehide", () => {
    channel.close();
    peerConnection?.close();
  });
}

/**
 * The chat: every line sent or received becomes its own element in the log, with class "sent"
 * or "received" (`who` labels the other side, drawn by the stylesheet, not part of the text).
 */
export function startChat(channel, { who }) {
  const form = $("chat");
  const input = $("message");
  const send = $("send");
  const log = $("log");
  const append = (text, direction) => {
    const line = document.createElement("li");
    line.className = direction;
    line.dataset.who = direction === "sent" ? "you" : who;
    line.textContent = text;
    log.append(line);
    line.scrollIntoView({ block: "nearest" });
  };
  channel.addEventListener("message", (event) => {
    append(typeof event.data === "string" ? event.data : "[binary message]", "received");
  });
  const close = () => {
    input.disabled = true;
    send.disabled = true;
    input.placeholder = "The channel is closed";
  };
  channel.addEventListener("close", close);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || channel.readyState !== "open") return;
    channel.send(text);
    append(text, "sent");
    input.value = "";
    input.focus();
  });
  input.disabled = false;
  send.disabled = false;
  input.placeholder = `Write to the ${who}`;
  input.focus();
  return { close };
}

/** POSTs JSON to the node and returns its JSON, or throws with the node's reason. */
export async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { reason: text };
  }
  if (!response.ok) {
    // {reason: "not_found", error: "User not found."} from the FIDO2 endpoints; Nest's
    // {message, error, statusCode} elsewhere.
    const reason =
      json.reason && json.error
        ? `${json.error} (${json.reason})`
        : (json.message ?? json.error ?? json.reason ?? response.statusText);
    throw new Error(`${path} answered ${response.status}: ${reason}`);
  }
  return json;
}

export const errorText = (error) => (error instanceof Error ? error.message : String(error));
