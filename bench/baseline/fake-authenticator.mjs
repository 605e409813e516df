// A software passkey (P-256, ES256, attestation "none") and an Algorand wallet key, built by hand
// with node:crypto, so the baseline's verifiers can be driven without a browser.

import crypto from 'node:crypto';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest();

// ---------------------------------------------------------------- minimal CBOR

function head(major, length) {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  throw new Error('CBOR item too long for this encoder');
}
const cborBytes = (bytes) => Buffer.concat([head(2, bytes.length), bytes]);
const cborText = (text) => Buffer.concat([head(3, Buffer.byteLength(text)), Buffer.from(text)]);
const cborInt = (n) => (n >= 0 ? head(0, n) : head(1, -1 - n));

/** COSE_Key of a P-256 public key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}. */
function coseP256(publicKey) {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.from([0xa5]),
    cborInt(1), cborInt(2),
    cborInt(3), cborInt(-7),
    cborInt(-1), cborInt(1),
    cborInt(-2), cborBytes(Buffer.from(jwk.x, 'base64url')),
    cborInt(-3), cborBytes(Buffer.from(jwk.y, 'base64url')),
  ]);
}

// ---------------------------------------------------------------- passkey

const UP = 0x01, UV = 0x04, AT = 0x40;

export class FakePasskey {
  constructor({ rpId = 'localhost', origin }) {
    if (!origin) throw new Error('origin is required');
    this.rpId = rpId;
    this.origin = origin;
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.credentialId = crypto.randomBytes(16);
    this.id = b64url(this.credentialId);
    this.counter = 0;
    this.rpIdHash = sha256(Buffer.from(rpId));
  }

  clientData(type, challenge) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  counterBytes() {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.counter);
    return b;
  }

  /** A RegistrationResponseJSON for these creation options' challenge. */
  register(challenge, { userVerified = true } = {}) {
    const credIdLength = Buffer.alloc(2);
    credIdLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([
      this.rpIdHash,
      Buffer.from([UP | (userVerified ? UV : 0) | AT]),
      this.counterBytes(),
      Buffer.alloc(16), // AAGUID: zero, as Android passkeys with fmt none
      credIdLength,
      this.credentialId,
      coseP256(this.publicKey),
    ]);
    const attestationObject = Buffer.concat([
      Buffer.from([0xa3]),
      cborText('fmt'), cborText('none'),
      cborText('attStmt'), Buffer.from([0xa0]),
      cborText('authData'), cborBytes(authData),
    ]);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', challenge)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** An AuthenticationResponseJSON for this challenge; the counter moves forward by one. */
  assert(challenge, { userVerified = true, userHandle } = {}) {
    this.counter += 1;
    const authData = Buffer.concat([
      this.rpIdHash,
      Buffer.from([UP | (userVerified ? UV : 0)]),
      this.counterBytes(),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', challenge);
    const signature = crypto.sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle ? { userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

// ---------------------------------------------------------------- Algorand wallet

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes) {
  let out = '', acc = 0, bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

export function encodeAddress(publicKey32) {
  const sum = crypto.createHash('sha512-256').update(publicKey32).digest().subarray(28);
  return base32(Buffer.concat([publicKey32, sum]));
}

export class FakeWallet {
  constructor() {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKey = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
    this.address = encodeAddress(this.publicKey);
  }

  /** The liquid registration result for a base64url challenge. */
  liquid(challenge, { requestId, device = 'Baseline Device' } = {}) {
    const signature = crypto.sign(null, Buffer.from(challenge, 'base64url'), this.privateKey);
    const liquid = { type: 'algorand', address: this.address, signature: b64url(signature), device };
    if (requestId !== undefined) liquid.requestId = requestId;
    return liquid;
  }
}
