// What the test pages need, bundled for the browser by build_browser.mjs: the unmodified
// liquid-client and tweetnacl for the wallet's Ed25519 key.
export { SignalClient } from "@algorandfoundation/liquid-client/signal";
export { encodeAddress, toBase64URL } from "@algorandfoundation/liquid-client/encoding";
export { default as nacl } from "tweetnacl";
