// The website side of liquid-client, unmodified: SignalClient.link(requestId) resolves with the
// link message once a wallet authenticates for that request. Prints it as one JSON line.
//   node liquid_link.mjs URL REQUEST_ID_JSON      (env COOKIE: a Cookie header)
import { SignalClient } from "@algorandfoundation/liquid-client/signal";

const [url, requestIdJson] = process.argv.slice(2);
const options = { autoConnect: true, reconnection: false };
if (process.env.COOKIE) options.extraHeaders = { cookie: process.env.COOKIE };
const client = new SignalClient(url, options);
client.on("connect", () => process.stdout.write(JSON.stringify({ type: "connect" }) + "\n"));
const message = await client.link(JSON.parse(requestIdJson));
process.stdout.write(JSON.stringify({ type: "link", message, authenticated: client.authenticated }) + "\n");
client.close(true);
process.exit(0);
