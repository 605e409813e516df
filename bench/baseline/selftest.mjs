// A smoke test of a running baseline (bash start.sh first): registration, assertion, the link
// across the two processes, the relay, and the error shapes, with the stock socket.io-client.
//
//   node selftest.mjs [BASE_PORT]     (default 45000)

import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { io } from 'socket.io-client';

import { FakePasskey, FakeWallet } from './fake-authenticator.mjs';

const base = Number(process.argv[2] ?? 45000);
const node1 = `http://127.0.0.1:${base}`;
const node2 = `http://127.0.0.1:${base + 1}`;
const originOf = (url) => url.replace('127.0.0.1', 'localhost');

/** An HTTP client with one cookie, as a wallet app keeps its session. */
class Client {
  constructor(node) {
    this.node = node;
    this.cookie = undefined;
  }
  async post(path, body) {
    const res = await fetch(this.node + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
        ...(this.cookie ? { cookie: this.cookie } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return this.read(res);
  }
  async get(path) {
    return this.read(await fetch(this.node + path, { headers: this.cookie ? { cookie: this.cookie } : {} }));
  }
  async read(res) {
    const set = res.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
    if (set) this.cookie = set.split(';')[0];
    return { status: res.status, body: await res.json().catch(() => null) };
  }
}

async function register(client, wallet, passkey, requestId) {
  const options = await client.post('/attestation/request', {
    username: wallet.address,
    displayName: 'Liquid Auth User',
    authenticatorSelection: { userVerification: 'required' },
    extensions: { liquid: true },
  });
  assert.equal(options.status, 201);
  assert.deepEqual(Object.keys(options.body), [
    'challenge', 'rp', 'user', 'pubKeyCredParams', 'timeout', 'attestation', 'excludeCredentials',
    'authenticatorSelection', 'extensions',
  ]);
  assert.deepEqual(options.body.user, { id: wallet.address, name: wallet.address, displayName: wallet.address });
  assert.deepEqual(options.body.pubKeyCredParams.map((p) => p.alg), [-7, -257]);
  const body = passkey.register(options.body.challenge);
  body.clientExtensionResults = { liquid: wallet.liquid(options.body.challenge, { requestId }) };
  return client.post('/attestation/response', body);
}

function connect(node, opts = {}) {
  const socket = io(node, { forceNew: true, reconnection: false, ...opts });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const next = (socket, event, ms = 5000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n  ${err?.stack ?? err}`);
  }
}

const sockets = [];
const wallet = new FakeWallet();
const passkey = new FakePasskey({ origin: originOf(node2) });
const walletHttp = new Client(node2);
let user;

await check('website on node 1 (polling, then upgrade) links to a wallet registering on node 2', async () => {
  const website = await connect(node1);
  sockets.push(website);
  const requestId = crypto.randomUUID();
  const ack = website.timeout(5000).emitWithAck('link', { requestId });
  const registered = await register(walletHttp, wallet, passkey, requestId);
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  user = registered.body;
  assert.equal(user.wallet, wallet.address);
  assert.equal(user.credentials.length, 1);
  assert.equal(user.credentials[0].credId, passkey.id);
  assert.equal(user.credentials[0].device, 'Baseline Device');
  assert.deepEqual(await ack, { data: { credId: passkey.id, requestId, wallet: wallet.address } });

  const walletSocket = await connect(node2, { transports: ['websocket'], extraHeaders: { cookie: walletHttp.cookie } });
  sockets.push(walletSocket);
  const offer = next(website, 'offer-description');
  walletSocket.emit('offer-description', 'v=0 sdp offer');
  assert.equal(await offer, 'v=0 sdp offer');
  const answer = next(walletSocket, 'answer-description');
  website.emit('answer-description', { sdp: 'v=0 answer', type: 'answer' });
  assert.deepEqual(await answer, { sdp: 'v=0 answer', type: 'answer' });
  const candidate = next(website, 'offer-candidate');
  const payload = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  walletSocket.emit('offer-candidate', payload);
  assert.deepEqual(await candidate, payload);
  const echo = next(walletSocket, 'offer-candidate'); // the original echoes to the sender too
  walletSocket.emit('offer-candidate', payload);
  assert.deepEqual(await echo, payload);
});

await check('the wallet session is logged in', async () => {
  const { status, body } = await walletHttp.get('/auth/session');
  assert.equal(status, 200);
  assert.equal(body.user.wallet, wallet.address);
  assert.equal(body.session.wallet, wallet.address);
});

await check('a numeric requestId links by assertion; its string form does not', async () => {
  const requestId = 0.6050027432326752;
  const numeric = await connect(node1, { transports: ['websocket'] });
  const stringy = await connect(node2, { transports: ['websocket'] });
  sockets.push(numeric, stringy);
  const ack = numeric.timeout(5000).emitWithAck('link', { requestId });
  let stringAcked = false;
  stringy.emit('link', { requestId: String(requestId) }, () => (stringAcked = true));
  const options = await walletHttp.post(`/assertion/request/${passkey.id}`, {});
  assert.equal(options.status, 201);
  assert.deepEqual(Object.keys(options.body), ['challenge', 'allowCredentials', 'timeout', 'userVerification', 'rpId']);
  assert.deepEqual(options.body.allowCredentials, [{ id: passkey.id, type: 'public-key' }]);
  const body = passkey.assert(options.body.challenge);
  body.clientExtensionResults = { liquid: { requestId } };
  const asserted = await walletHttp.post('/assertion/response', body);
  assert.equal(asserted.status, 201, JSON.stringify(asserted.body));
  assert.equal(asserted.body.credentials[0].prevCounter, 1);
  assert.deepEqual(await ack, { data: { credId: passkey.id, requestId, wallet: wallet.address } });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(stringAcked, false);

  const replay = await walletHttp.post('/assertion/response', body);
  assert.equal(replay.status, 401);
  assert.deepEqual(replay.body, { reason: 'unauthorized', error: 'Challenge not found.' });
});

await check('a counter that does not move forward fails', async () => {
  const options = await walletHttp.post(`/assertion/request/${passkey.id}`, {});
  passkey.counter = 0;
  const asserted = await walletHttp.post('/assertion/response', passkey.assert(options.body.challenge));
  assert.equal(asserted.status, 401);
  assert.deepEqual(asserted.body, { reason: 'unauthorized', error: 'User verification failed.' });
});

await check('a liquid signature by another key fails', async () => {
  const other = new FakeWallet();
  const client = new Client(node1);
  const options = await client.post('/attestation/request', { username: wallet.address, extensions: { liquid: true } });
  const body = new FakePasskey({ origin: originOf(node1) }).register(options.body.challenge);
  body.clientExtensionResults = { liquid: { ...other.liquid(options.body.challenge), address: wallet.address } };
  const res = await client.post('/attestation/response', body);
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { reason: 'unauthorized', error: 'User verification failed' });
});

await check('a registration for the wrong origin fails', async () => {
  const client = new Client(node1);
  const other = new FakeWallet();
  const options = await client.post('/attestation/request', { username: other.address, extensions: { liquid: true } });
  const body = new FakePasskey({ origin: originOf(node2) }).register(options.body.challenge);
  body.clientExtensionResults = { liquid: other.liquid(options.body.challenge) };
  const res = await client.post('/attestation/response', body);
  assert.equal(res.status, 401);
});

await check('error shapes', async () => {
  const client = new Client(node1);
  const noLiquid = await client.post('/attestation/request', {});
  assert.deepEqual([noLiquid.status, noLiquid.body], [501, { reason: 'not_implemented', error: 'Liquid extension is required' }]);
  const noChallenge = await new Client(node1).post('/attestation/response', { id: 'x', rawId: 'x', response: {} });
  assert.deepEqual([noChallenge.status, noChallenge.body], [401, { reason: 'unauthorized', error: 'Challenge not found' }]);
  const unknown = await client.post('/assertion/request/AAAA', {});
  assert.deepEqual([unknown.status, unknown.body], [401, { reason: 'not_found', error: 'User not found.' }]);
});

for (const s of sockets) s.disconnect();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
