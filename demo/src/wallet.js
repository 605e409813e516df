// The browser wallet: an Ed25519 Algorand account kept in this browser, a passkey bound to it
// (registered with liquid-client's attestation, later used to log in by assertion), then the
// WebRTC offer to the website that shares the request ID.
import { SignalClient } from "@algorandfoundation/liquid-client/signal";
import { encodeAddress, fromBase64Url, toBase64URL } from "@algorandfoundation/liquid-client/encoding";
import { encoder as assertionEncoder } from "@algorandfoundation/liquid-client/assertion";
import nacl from "tweetnacl";
import {
  $,
  errorText,
  hint,
  opened,
  postJSON,
  startChat,
  statusLine,
  watchPeer,
  watchPresence,
} from "./shared.js";

const KEY_STORAGE = "liquid-mesh-demo/wallet-key";
const CREDENTIAL_STORAGE = "liquid-mesh-demo/credential";

// The account key: 64 bytes of tweetnacl secret key (seed and public key), base64url.
function loadKey() {
  const stored = localStorage.getItem(KEY_STORAGE);
  if (stored) {
    try {
      const secretKey = fromBase64Url(stored);
      if (secretKey.length === nacl.sign.secretKeyLength) {
        return nacl.sign.keyPair.fromSecretKey(secretKey);
      }
    } catch {
      // Unreadable: make a new one below.
    }
  }
  const key = nacl.sign.keyPair();
  localStorage.setItem(KEY_STORAGE, toBase64URL(key.secretKey));
  return key;
}

const key = loadKey();
const address = encodeAddress(key.publicKey);

function storedCredential() {
  try {
    const stored = JSON.parse(localStorage.getItem(CREDENTIAL_STORAGE) ?? "null");
    return stored && stored.address === address && typeof stored.credId === "string"
      ? stored.credId
      : null;
  } catch {
    return null;
  }
}

function rememberCredential(credId) {
  localStorage.setItem(CREDENTIAL_STORAGE, JSON.stringify({ credId, address }));
  showCredential();
}

function showCredential() {
  const credId = storedCredential();
  $("credential").textContent = credId ?? "";
  $("register").textContent = credId ? "Log in with your passkey" : "Register a passkey";
  $("forget").hidden = !credId;
}

/** A request ID from the paste field: the ID itself or a whole `liquid://…?requestId=` link. */
function parseRequest(text) {
  const value = text.trim();
  if (!value) return null;
  try {
    const url = new URL(value);
    const fromLink = url.searchParams.get("requestId");
    if (fromLink) return fromLink;
  } catch {
    // Not a URL: the ID itself.
  }
  return value;
}

const status = statusLine($("status"));
let requestId = new URLSearchParams(location.search).get("requestId") || null;
let channel = null;
let client = null;
let presence = null;

window.demo = {
  address,
  status: () => status.get(),
  statuses: status.seen,
  get requestId() {
    return requestId;
  },
  get channel() {
    return channel;
  },
  get credId() {
    return storedCredential();
  },
  get client() {
    return client;
  },
};

$("address").textContent = address;
showCredential();

function ready() {
  $("request-id").textContent = requestId;
  $("join-card").hidden = true;
  $("register").disabled = false;
  status.set("ready");
  hint(
    storedCredential()
      ? "This wallet has a passkey here: log in with it to answer the website's request."
      : "Register a passkey: it proves this account to the node and answers the website's request.",
  );
}

if (requestId) {
  ready();
} else {
  $("join-card").hidden = false;
  $("register").disabled = true;
  status.set("needs a request");
  hint("Paste the request ID (or the deep link) the website shows.");
  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const pasted = parseRequest($("request").value);
    if (!pasted) return;
    requestId = pasted;
    history.replaceState(null, "", `?requestId=${encodeURIComponent(requestId)}`);
    ready();
  });
}

$("forget").addEventListener("click", () => {
  localStorage.removeItem(CREDENTIAL_STORAGE);
  showCredential();
  hint("Forgotten here (the node and your authenticator still have it). Register a new passkey.");
});

/** The liquid extension's proof: the account signs the node's challenge. */
const liquidProof = async (challenge) => ({
  type: "algorand",
  address,
  signature: toBase64URL(nacl.sign.detached(challenge, key.secretKey)),
  requestId,
  device: "Browser wallet",
});

async function register() {
  hint("Creating a passkey bound to this account…");
  const user = await client.attestation(liquidProof);
  const newest = user?.credentials?.[user.credentials.length - 1]?.credId;
  if (!newest) throw new Error("the node returned no credential");
  rememberCredential(newest);
  return user;
}

// canary.5's SignalClient.assertion() sends no requestId, so its login could never answer the
// website's link: build the ceremony from the library's encoder and add liquid.requestId.
async function logIn(credId) {
  hint("Logging in with your passkey…");
  const options = await postJSON(`/assertion/request/${encodeURIComponent(credId)}`, {});
  const credential = await navigator.credentials.get({
    publicKey: assertionEncoder.decodeOptions(options),
  });
  if (!credential) throw new Error("no credential returned");
  const body = assertionEncoder.encodeCredential(credential);
  body.clientExtensionResults = { ...body.clientExtensionResults, liquid: { requestId } };
  const user = await postJSON("/assertion/response", body);
  client.authenticated = true; // what SignalClient.assertion() would have set
  return user;
}

async function connect() {
  client?.close(true);
  // The socket connects only once the session is authenticated, so it carries that session's
  // cookie (a socket opened first would get a session of its own, racing the ceremony's).
  client = new SignalClient(location.origin, { autoConnect: false });
  const credId = storedCredential();
  const user = credId ? await logIn(credId) : await register();
  if (user?.wallet && user.wallet !== address) {
    throw new Error(`the node logged in ${user.wallet}, not this wallet`);
  }
  status.set("authenticated");
  hint("Authenticated: the node tells the website; sending the WebRTC offer.");
  presence = watchPresence(
    client.socket,
    () => requestId,
    $("presence"),
    () => channel?.readyState === "open",
  );
  client.socket.connect();
  const dataChannel = await client.peer(requestId, "answer", { iceServers: [] });
  await opened(dataChannel);
  channel = dataChannel;
  status.set("connected");
  $("actions").hidden = true;
  hint("Connected peer to peer: messages go over the data channel, not through the node.");
  presence.refresh();
  const chat = startChat(dataChannel, { who: "website" });
  watchPeer(client.peerClient, dataChannel, () => {
    chat.close();
    presence.refresh();
    hint("The website left. Open its new request to pair again.", "error");
  });
}

$("register").addEventListener("click", async () => {
  $("register").disabled = true;
  $("forget").disabled = true;
  try {
    await connect();
  } catch (error) {
    console.error(error);
    status.set("failed");
    const stored = storedCredential();
    hint(
      `${errorText(error)}.` +
        (stored ? " If the node no longer knows this passkey, forget it and register again." : ""),
      "error",
    );
    $("register").disabled = false;
    $("forget").disabled = false;
  }
});
