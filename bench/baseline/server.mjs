// One process of the baseline: the original Liquid Auth server's HTTP and Socket.IO semantics
// (see ../../../shared/liquid-auth-protocol.md §3, §4, §6, §7) on its own stack: express,
// express-session, SimpleWebAuthn, socket.io with the Redis adapter, a Redis "auth" channel.
// In-memory users and sessions; written for benchmarks, not for production.
//
//   node server.mjs --port 45000 --redis redis://127.0.0.1:45002 [--host 127.0.0.1]
//                   [--rp-id localhost] [--origin http://localhost:<port>] [--no-reload]
//
// --no-reload skips the session reload the original gateway does before each signal event.

import crypto from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';

import express from 'express';
import session from 'express-session';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import nacl from 'tweetnacl';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const args = { host: '127.0.0.1', rpId: 'localhost', reload: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--port': args.port = Number(value()); break;
      case '--redis': args.redis = value(); break;
      case '--host': args.host = value(); break;
      case '--rp-id': args.rpId = value(); break;
      case '--origin': args.origin = value(); break;
      case '--no-reload': args.reload = false; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${flag}`);
    }
  }
  if (!Number.isInteger(args.port) || args.port <= 0 || args.port > 65535) usage('--port is required');
  if (!args.redis) usage('--redis is required');
  args.origin ??= `http://${args.rpId}:${args.port}`;
  return args;
}

function usage(problem) {
  if (problem) console.error(problem);
  console.error('usage: node server.mjs --port P --redis redis://HOST:PORT [--host H] [--rp-id ID] [--origin URL] [--no-reload]');
  process.exit(problem ? 2 : 0);
}

const args = parseArgs(process.argv.slice(2));
const RP_ID = args.rpId;
const RP_NAME = 'Algorand Foundation FIDO2 Server';
const ORIGIN = args.origin;
const TIMEOUT = 1_800_000;
const ALGS = [-7, -257];
const SIGNALS = ['offer-description', 'offer-candidate', 'answer-description', 'answer-candidate'];
// The original joins the wallet room on these before relaying; offer-candidate does not.
const JOINS = new Set(['offer-description', 'answer-description', 'answer-candidate']);

// ---------------------------------------------------------------- Algorand and liquid

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The 32-byte Ed25519 key of a 58-character Algorand address; throws on a bad checksum. */
function decodeAddress(address) {
  if (typeof address !== 'string' || address.length !== 58) throw new Error('address length');
  const bytes = new Uint8Array(36);
  let bits = 0, acc = 0, n = 0;
  for (const ch of address) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error('address alphabet');
    acc = ((acc << 5) | v) & 0x1fff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[n++] = (acc >>> bits) & 0xff;
    }
  }
  if (n !== 36 || (acc & ((1 << bits) - 1)) !== 0) throw new Error('address padding');
  const key = bytes.subarray(0, 32);
  const sum = crypto.createHash('sha512-256').update(key).digest().subarray(28);
  if (!sum.equals(bytes.subarray(32))) throw new Error('address checksum');
  return key;
}

/** The liquid registration proof: Ed25519 by the address's key over the raw challenge bytes. */
function verifyLiquid(liquid, challenge) {
  if (liquid?.type !== 'algorand' || typeof liquid.signature !== 'string') return false;
  const key = decodeAddress(liquid.address);
  const signature = Buffer.from(liquid.signature, 'base64'); // standard or URL alphabet, padded or not
  if (signature.length !== 64) return false;
  return nacl.sign.detached.verify(Buffer.from(challenge, 'base64url'), signature, key);
}

// ---------------------------------------------------------------- state

/** wallet → {_id, id, wallet, credentials: [{device, publicKey, credId, prevCounter}], __v} */
const users = new Map();
/** credId → wallet */
const owners = new Map();
/** requestId (string or number, compared as the original does with ===) → Set of {socket, requestId, ack} */
const pendingLinks = new Map();

// ---------------------------------------------------------------- redis

const pub = new Redis(args.redis, { lazyConnect: true, maxRetriesPerRequest: null });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

function publishAuth(requestId, wallet, credId) {
  // NestJS's Redis ClientProxy wraps an emitted event as {pattern, data}.
  pub.publish('auth', JSON.stringify({ pattern: 'auth', data: { requestId, wallet, credId } }));
}

// ---------------------------------------------------------------- http

const app = express();
app.disable('x-powered-by');
app.disable('etag');
const sessionMiddleware = session({
  secret: 'my-secret',
  resave: true,
  saveUninitialized: true,
  cookie: { httpOnly: true, secure: false, sameSite: 'lax' },
});
app.use(express.json({ limit: '100kb' }));
app.use(sessionMiddleware);

const fail = (res, status, reason, error) => res.status(status).json({ reason, error });
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

app.post('/attestation/request', async (req, res, next) => {
  try {
    const body = isObject(req.body) ? req.body : {};
    if (body.extensions?.liquid === undefined) {
      return fail(res, 501, 'not_implemented', 'Liquid extension is required');
    }
    const username = typeof body.username === 'string' ? body.username : undefined;
    const generated = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: RP_ID,
      userName: username ?? '',
      timeout: TIMEOUT,
      attestationType: 'none',
      supportedAlgorithmIDs: ALGS,
    });
    // Patched back to the shape of the original's SimpleWebAuthn 0.10.6 (§3.1).
    const options = {
      challenge: generated.challenge,
      rp: { name: RP_NAME, id: RP_ID },
      user: username === undefined ? {} : { id: username, name: username, displayName: username },
      pubKeyCredParams: ALGS.map((alg) => ({ type: 'public-key', alg })),
      timeout: TIMEOUT,
      attestation: typeof body.attestationType === 'string' ? body.attestationType : 'none',
      excludeCredentials: [],
      authenticatorSelection: body.authenticatorSelection ?? { requireResidentKey: false, userVerification: 'preferred' },
      extensions: body.extensions,
    };
    req.session.liquidExtension = true;
    req.session.challenge = options.challenge;
    res.status(201).json(options);
  } catch (err) {
    next(err);
  }
});

app.post('/attestation/response', async (req, res) => {
  const s = req.session;
  const body = req.body;
  if (!isObject(body) || !isObject(body.response)) return fail(res, 400, 'bad_request', 'Malformed registration response');
  if (typeof s.challenge !== 'string') return fail(res, 401, 'unauthorized', 'Challenge not found');
  const liquid = body.clientExtensionResults?.liquid;
  if (s.liquidExtension && !isObject(liquid)) return fail(res, 401, 'unauthorized', 'Liquid extension not found');
  if (!s.liquidExtension) return fail(res, 501, 'not_implemented', 'Liquid extension is required');
  let info;
  try {
    const verification = await verifyRegistrationResponse({
      response: body,
      expectedChallenge: s.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      requireUserVerification: true,
    });
    if (!verification.verified || !verifyLiquid(liquid, s.challenge)) throw new Error('not verified');
    info = verification.registrationInfo;
  } catch {
    return fail(res, 401, 'unauthorized', 'User verification failed');
  }
  const wallet = liquid.address;
  const credId = info.credential.id;
  let user = users.get(wallet);
  if (!user) {
    user = {
      _id: crypto.randomBytes(12).toString('hex'),
      id: crypto.randomBytes(32).toString('base64url'),
      wallet,
      credentials: [],
      __v: 0,
    };
    users.set(wallet, user);
  }
  if (!user.credentials.some((c) => c.credId === credId)) {
    user.credentials.push({
      device: typeof liquid.device === 'string' && liquid.device ? liquid.device : 'Unknown Device',
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      credId,
      prevCounter: info.credential.counter,
    });
  }
  owners.set(credId, wallet);
  delete s.liquidExtension;
  delete s.challenge;
  s.wallet = wallet;
  if (liquid.requestId !== undefined) publishAuth(liquid.requestId, wallet, credId);
  res.status(201).json(user);
});

app.post('/assertion/request/:credId', async (req, res, next) => {
  try {
    const credId = req.params.credId;
    if (!owners.has(credId)) return fail(res, 401, 'not_found', 'User not found.');
    const userVerification = typeof req.body?.userVerification === 'string' ? req.body.userVerification : 'required';
    const generated = await generateAuthenticationOptions({
      rpID: RP_ID,
      allowCredentials: [{ id: credId }],
      userVerification,
      timeout: TIMEOUT,
    });
    req.session.challenge = generated.challenge;
    res.status(201).json({
      challenge: generated.challenge,
      allowCredentials: [{ id: credId, type: 'public-key' }],
      timeout: TIMEOUT,
      userVerification,
      rpId: RP_ID,
    });
  } catch (err) {
    next(err);
  }
});

app.post('/assertion/response', async (req, res) => {
  const s = req.session;
  const body = req.body;
  if (!isObject(body) || !isObject(body.response)) return fail(res, 400, 'bad_request', 'Malformed authentication response');
  if (typeof s.challenge !== 'string') return fail(res, 401, 'unauthorized', 'Challenge not found.');
  const user = users.get(owners.get(body.id));
  const credential = user?.credentials.find((c) => c.credId === body.id);
  if (!credential) return fail(res, 401, 'not_found', 'Credential not found.');
  let info;
  try {
    const verification = await verifyAuthenticationResponse({
      response: body,
      expectedChallenge: s.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      credential: {
        id: credential.credId,
        publicKey: Buffer.from(credential.publicKey, 'base64url'),
        counter: credential.prevCounter,
      },
      requireUserVerification: true,
    });
    if (!verification.verified) throw new Error('not verified');
    info = verification.authenticationInfo;
  } catch {
    return fail(res, 401, 'unauthorized', 'User verification failed.');
  }
  credential.prevCounter = info.newCounter;
  delete s.challenge;
  s.wallet = user.wallet;
  const requestId = body.clientExtensionResults?.liquid?.requestId;
  if (requestId !== undefined) publishAuth(requestId, user.wallet, body.id);
  res.status(201).json(user);
});

app.get('/auth/session', (req, res) => {
  const wallet = req.session.wallet;
  const user = typeof wallet === 'string' ? users.get(wallet) ?? null : null;
  res.json({ user, session: req.session });
});

app.get('/health', (req, res) => {
  res.json({ ok: true, pid: process.pid, port: args.port, sockets: io.engine.clientsCount, pendingLinks: pendingLinks.size, users: users.size });
});

app.use((req, res) => {
  res.status(404).json({ message: `Cannot ${req.method} ${req.path}`, error: 'Not Found', statusCode: 404 });
});

// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (err?.type === 'entity.parse.failed') return fail(res, 400, 'bad_request', 'Malformed JSON');
  if (err?.type === 'entity.too.large') return fail(res, 413, 'payload_too_large', 'Body too large');
  res.status(500).json({ statusCode: 500, message: 'Internal server error' });
});

// ---------------------------------------------------------------- socket.io

const server = http.createServer(app);
const io = new Server(server, {
  cors: { origin: '*' },
  adapter: createAdapter(pub, sub),
});
io.engine.use(sessionMiddleware);

/** Puts a socket in its wallet's room and writes the wallet into its session. */
function bind(socket, wallet) {
  socket.data.wallet = wallet;
  socket.join(wallet);
  const s = socket.request.session;
  if (s) {
    s.wallet = wallet;
    s.save(() => {});
  }
}

/** A socket's wallet: its (reloaded) session's, else the one its link resolved to. */
function walletOf(socket, done) {
  const req = socket.request;
  const s = req.session;
  if (!args.reload || !s) return done(s?.wallet ?? socket.data.wallet);
  s.reload((err) => done((err ? s.wallet : req.session.wallet) ?? socket.data.wallet));
}

// The link event, as the original gateway gets it: on the adapter's subscriber connection.
sub.subscribe('auth');
sub.on('message', (channel, message) => {
  if (channel !== 'auth') return;
  let event;
  try {
    event = JSON.parse(message);
  } catch {
    return;
  }
  const { requestId, wallet, credId } = event?.data ?? event ?? {};
  const waiting = pendingLinks.get(requestId);
  if (!waiting || typeof wallet !== 'string') return;
  pendingLinks.delete(requestId);
  for (const entry of waiting) {
    entry.socket.data.links.delete(entry);
    if (!entry.socket.connected) continue;
    bind(entry.socket, wallet);
    entry.ack({ data: { credId, requestId, wallet } });
  }
});

io.on('connection', (socket) => {
  // Handlers are registered synchronously, before any event of this socket can be read.
  socket.data.links = new Set();
  const wallet = socket.request.session?.wallet;
  if (typeof wallet === 'string') socket.join(wallet);

  socket.on('link', (message, ack) => {
    const requestId = message?.requestId;
    // Anything but a string or a number never equals a published requestId in the original.
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
    const entry = { socket, requestId, ack: typeof ack === 'function' ? ack : () => {} };
    let waiting = pendingLinks.get(requestId);
    if (!waiting) pendingLinks.set(requestId, (waiting = new Set()));
    waiting.add(entry);
    socket.data.links.add(entry);
  });

  for (const event of SIGNALS) {
    socket.on(event, (payload) => {
      walletOf(socket, (room) => {
        if (typeof room !== 'string') return;
        if (JOINS.has(event) && !socket.rooms.has(room)) socket.join(room);
        io.in(room).emit(event, payload);
      });
    });
  }

  socket.on('disconnect', () => {
    for (const entry of socket.data.links) {
      const waiting = pendingLinks.get(entry.requestId);
      if (waiting) {
        waiting.delete(entry);
        if (waiting.size === 0) pendingLinks.delete(entry.requestId);
      }
    }
    socket.data.links.clear();
  });
});

server.listen(args.port, args.host);
await once(server, 'listening');
console.log(`liquid-mesh baseline listening on http://${args.host}:${args.port} pid ${process.pid} redis ${args.redis} origin ${ORIGIN}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    io.close();
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  });
}
