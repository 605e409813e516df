// The website (dApp) side: show a fresh request as a QR code, wait for a wallet to authenticate
// for it (the node acknowledges our `link`), then answer the wallet's WebRTC offer and chat.
import { SignalClient } from "@algorandfoundation/liquid-client/signal";
import { $, errorText, hint, opened, startChat, statusLine, watchPeer, watchPresence } from "./shared.js";

const requestId = crypto.randomUUID();
const deepLink = `liquid://${location.host}/?requestId=${requestId}`;
const status = statusLine($("status"));
let channel = null;

window.demo = {
  requestId,
  deepLink,
  status: () => status.get(),
  statuses: status.seen,
  get channel() {
    return channel;
  },
  get wallet() {
    return $("wallet").textContent;
  },
};

$("request-id").textContent = requestId;
$("deep-link").textContent = deepLink;
$("open-wallet").href = `/wallet?requestId=${encodeURIComponent(requestId)}`;

const qr = $("qr");
qr.addEventListener("error", () => qr.closest("figure")?.classList.add("missing"));
qr.src = `/demo/qr.svg?data=${encodeURIComponent(deepLink)}`;

$("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(deepLink);
    $("copy").textContent = "Copied";
  } catch {
    getSelection()?.selectAllChildren($("deep-link"));
    $("copy").textContent = "Press Ctrl+C";
  }
  setTimeout(() => ($("copy").textContent = "Copy"), 1500);
});

status.set("waiting for a wallet");
hint("Scan the code with a Liquid wallet, or open the browser wallet and register a passkey.");

// The website's socket connects at once: `link` parks on the node until a wallet authenticates.
const client = new SignalClient(location.origin);
window.demo.client = client;
// What the socket received and when (ms since load), for tests diagnosing a stuck pairing.
const trace = [];
window.demo.trace = trace;
client.socket.onAny((event) => trace.push([Math.round(performance.now()), event]));
client.on("link-message", () => trace.push([Math.round(performance.now()), "(link acknowledged)"]));
const presence = watchPresence(
  client.socket,
  () => requestId,
  $("presence"),
  () => channel?.readyState === "open",
);
client.socket.on("connect_error", () => hint("Cannot reach the node; retrying…", "error"));
client.socket.on("connect", () => {
  if (status.get() === "waiting for a wallet") {
    hint("Scan the code with a Liquid wallet, or open the browser wallet and register a passkey.");
  }
});

// canary.5's peer() starts listening for the wallet's offer only once `link` is acknowledged,
// but the node relays the wallet's signals as soon as the wallet's socket joins, and under load
// they can arrive first (the node writes the linked session before it acknowledges): the offer
// was then lost and the page stayed "linked". So keep the wallet's signals that arrive between
// our link joining the request's room (the node's presence push for it) and the
// acknowledgement, and hand them to liquid-client's listeners once it has them. Signals from
// before that push are replays of an earlier request of this browser's session, not ours.
const early = [];
let inRoom = false;
let acknowledged = false;
const keepers = new Map();
client.socket.on("presence", (presence) => {
  if (String(presence?.requestId) === requestId) inRoom = true;
});
for (const event of ["offer-description", "offer-candidate"]) {
  const keep = (payload) => {
    if (inRoom && !acknowledged) early.push([event, payload]);
  };
  keepers.set(event, keep);
  client.socket.on(event, keep);
}
client.on("link-message", () => {
  acknowledged = true;
  // peer() adds its listeners in the continuation of the acknowledgement: after this task.
  setTimeout(() => {
    for (const [event, keep] of keepers) client.socket.off(event, keep);
    for (const [event, payload] of early.splice(0)) {
      trace.push([Math.round(performance.now()), `(handed on early ${event})`]);
      for (const listener of client.socket.listeners(event)) listener.call(client.socket, payload);
    }
  }, 0);
});

client.on("link-message", (message) => {
  if (!message || !message.wallet) {
    // canary.5 passes on whatever the ack held as `data`; a refused link ({error}) has none,
    // and its peer() then waits for an offer forever.
    status.set("failed");
    hint("The node refused the link (too many requests?). Reload the page to try again.", "error");
    return;
  }
  $("wallet").textContent = message.wallet;
  status.set("linked");
  hint("A wallet authenticated for this request; waiting for its WebRTC offer.");
});

async function pair() {
  const dataChannel = await client.peer(requestId, "offer", { iceServers: [] });
  await opened(dataChannel);
  channel = dataChannel;
  status.set("connected");
  hint("Connected peer to peer: messages go over the data channel, not through the node.");
  presence.refresh();
  const chat = startChat(dataChannel, { who: "wallet" });
  watchPeer(client.peerClient, dataChannel, () => {
    chat.close();
    presence.refresh();
    hint("The wallet left. Reload the page to pair again.", "error");
  });
}

pair().catch((error) => {
  console.error(error);
  status.set("failed");
  hint(`Pairing failed: ${errorText(error)}. Reload the page to try again.`, "error");
});
