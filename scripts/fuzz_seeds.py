#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, written under fuzz/corpus/<target>/ (not committed).

Seeds come from the recorded Android vectors in ../shared/vectors (read in place) and from
hand-encoded protobuf envelopes, so every target starts from inputs the node accepts.
"""

import base64
import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared" / "vectors" / "liquid-auth-js"
CORPUS = ROOT / "fuzz" / "corpus"
# node/src/untrusted.rs FIXED_CHALLENGE: 32 bytes of 7.
FIXED_CHALLENGE = base64.urlsafe_b64encode(bytes([7] * 32)).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, value):
    """A protobuf field: varint for ints, length-delimited for bytes and str."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def envelope(body_tag, body):
    return field(1, 1) + field(2, 12345) + field(body_tag, body)


def main():
    if not VECTORS.is_dir():
        sys.exit(f"recorded vectors missing: {VECTORS}")
    registrations = json.loads((VECTORS / "attestation.response.body.fixtures.json").read_text())
    assertions = json.loads((VECTORS / "assertion.response.body.fixtures.json").read_text())
    wallet = registrations[0]["clientExtensionResults"]["liquid"]["address"]
    for i, body in enumerate(registrations):
        write("fido_body", f"registration-{i}", json.dumps(body))
        # The same body on the fuzz relying party's challenge and origin, so mutations get past
        # the client data into the attestation object.
        client = json.loads(b64url_decode(body["response"]["clientDataJSON"]))
        client["challenge"] = FIXED_CHALLENGE
        client["origin"] = "http://localhost:3000"
        patched = json.loads(json.dumps(body))
        patched["response"]["clientDataJSON"] = b64url(json.dumps(client).encode())
        write("fido_body", f"registration-fixed-{i}", json.dumps(patched))
        object_bytes = b64url_decode(body["response"]["attestationObject"])
        write("attestation_object", f"vector-{i}", object_bytes)
        liquid = body["clientExtensionResults"]["liquid"]
        write("liquid_extension", f"registration-{i}", json.dumps(liquid))
        write("algorand_address", f"vector-{i}", liquid["address"])
        write("bridge_event", f"link-{i}", json.dumps({"requestId": liquid.get("requestId", i)}))
    for i, body in enumerate(assertions):
        write("fido_body", f"assertion-{i}", json.dumps(body))
        write("liquid_extension", f"assertion-{i}", json.dumps(body["clientExtensionResults"]["liquid"]))
    write("bridge_event", "number", '{"requestId": 0.6050027432326752}')
    write("bridge_event", "integer", '{"requestId": 424242.0}')

    request = json.dumps("019097ff-bb8c-7514-a0c6-5209d2405a4a")
    cred_id = registrations[0]["id"]
    write("mesh_message", "authenticated",
          envelope(3, field(1, request) + field(2, wallet) + field(3, cred_id)))
    write("mesh_message", "signal-request",
          envelope(4, field(1, request) + field(3, 1) + field(4, json.dumps({"candidate": "c", "sdpMid": "0"}))))
    write("mesh_message", "signal-wallet",
          envelope(4, field(2, wallet) + field(3, 0) + field(4, json.dumps("v=0\r\n"))))
    write("mesh_message", "presence", envelope(5, field(1, request) + field(2, 2)))
    tag = hashlib.sha256(b"tag").digest()
    sealed = field(1, tag) + field(2, bytes(24)) + field(3, bytes(48))
    write("mesh_message", "sealed", envelope(6, sealed))
    write("mesh_message", "sync-request", field(1, 1))
    write("mesh_message", "sync-response", field(1, 1) + field(2, envelope(5, field(1, request) + field(2, 1))))
    write("sealed_hello", "sealed", sealed)


if __name__ == "__main__":
    main()
