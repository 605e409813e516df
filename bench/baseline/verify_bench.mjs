// How many passkey verifications one Node process (one core) does on this machine:
// SimpleWebAuthn's verifyRegistrationResponse (fmt none, ES256) and verifyAuthenticationResponse
// on credentials built here by hand, and the raw signature checks underneath.
//
//   node verify_bench.mjs SECONDS      (each of the measurements runs SECONDS; default 5)
//
// Prints one JSON line. Rates are per wall second of a sequential loop (one operation at a time)
// and per CPU second of this process (WebCrypto runs its jobs on libuv's thread pool).

import crypto from 'node:crypto';
import os from 'node:os';

import nacl from 'tweetnacl';
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';

import { FakePasskey } from './fake-authenticator.mjs';

const seconds = Number(process.argv[2] ?? 5);
if (!(seconds > 0)) {
  console.error('usage: node verify_bench.mjs SECONDS');
  process.exit(2);
}

const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:3000';
const POOL = 64;
const challenge = () => crypto.randomBytes(32).toString('base64url');

async function measure(fn) {
  // Warm up (JIT, WebCrypto key import caches) for a tenth of the time, at most a second.
  const warm = performance.now() + Math.min(1000, seconds * 100);
  for (let i = 0; performance.now() < warm; i++) await fn(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 8; k++) await fn(n++);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    ops: n,
    per_second: Math.round(n / wall),
    per_cpu_second: Math.round(n / cpuSeconds),
    cpu_micros_per_op: Number(((cpuSeconds / n) * 1e6).toFixed(1)),
  };
}

function must(condition, what) {
  if (!condition) throw new Error(`verification failed: ${what}`);
}

// Registrations: distinct passkeys and challenges, each verified for real.
const registrations = [];
for (let i = 0; i < POOL; i++) {
  const passkey = new FakePasskey({ rpId: RP_ID, origin: ORIGIN });
  const c = challenge();
  registrations.push({ challenge: c, response: passkey.register(c) });
}

// Authentications: one registered passkey, distinct challenges, counters 1..POOL (stored 0).
const passkey = new FakePasskey({ rpId: RP_ID, origin: ORIGIN });
const setupChallenge = challenge();
const registered = await verifyRegistrationResponse({
  response: passkey.register(setupChallenge),
  expectedChallenge: setupChallenge,
  expectedOrigin: ORIGIN,
  expectedRPID: RP_ID,
  requireUserVerification: true,
});
must(registered.verified, 'setup registration');
const credential = {
  id: registered.registrationInfo.credential.id,
  publicKey: registered.registrationInfo.credential.publicKey,
  counter: 0,
};
const assertions = [];
for (let i = 0; i < POOL; i++) {
  const c = challenge();
  assertions.push({ challenge: c, response: passkey.assert(c) });
}

const registration = await measure(async (i) => {
  const { challenge: c, response } = registrations[i % POOL];
  const result = await verifyRegistrationResponse({
    response,
    expectedChallenge: c,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    requireUserVerification: true,
  });
  must(result.verified && result.registrationInfo.credential.id === response.id, 'registration');
});

const authentication = await measure(async (i) => {
  const { challenge: c, response } = assertions[i % POOL];
  const result = await verifyAuthenticationResponse({
    response,
    expectedChallenge: c,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential,
    requireUserVerification: true,
  });
  must(result.verified && result.authenticationInfo.newCounter === (i % POOL) + 1, 'authentication');
});

// Raw signature checks.
const message = crypto.randomBytes(69); // authenticatorData (37) + SHA-256 of clientDataJSON (32)
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecSignature = crypto.sign('sha256', message, ec.privateKey);
const p256 = await measure(() => {
  must(crypto.verify('sha256', message, ec.publicKey, ecSignature), 'P-256');
});

const subtle = globalThis.crypto.subtle;
const ecKey = await subtle.importKey('jwk', ec.publicKey.export({ format: 'jwk' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const ecRaw = crypto.sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
const p256WebCrypto = await measure(async () => {
  must(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, ecKey, ecRaw, message), 'WebCrypto P-256');
});

const challengeBytes = crypto.randomBytes(32); // the liquid proof signs the raw challenge
const ed = crypto.generateKeyPairSync('ed25519');
const edSignature = crypto.sign(null, challengeBytes, ed.privateKey);
const ed25519 = await measure(() => {
  must(crypto.verify(null, challengeBytes, ed.publicKey, edSignature), 'Ed25519');
});

const edPublic = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x, 'base64url');
const tweetnacl = await measure(() => {
  must(nacl.sign.detached.verify(challengeBytes, edSignature, edPublic), 'tweetnacl Ed25519');
});

console.log(JSON.stringify({
  seconds_each: seconds,
  node: process.version,
  openssl: process.versions.openssl,
  cpu: os.cpus()[0]?.model,
  simplewebauthn_registration: registration,
  simplewebauthn_authentication: authentication,
  p256_verify_node_crypto: p256,
  p256_verify_webcrypto: p256WebCrypto,
  ed25519_verify_node_crypto: ed25519,
  ed25519_verify_tweetnacl: tweetnacl,
}));
