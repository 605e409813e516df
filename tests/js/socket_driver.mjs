// One real socket.io-client socket, scripted by the Rust tests: commands arrive as JSON lines on
// stdin, and everything the socket sees is reported as JSON lines on stdout.
//   node socket_driver.mjs URL        (env COOKIE: a Cookie header; TRANSPORTS: e.g. "websocket")
// Commands: {"emit": EVENT, "args": [...], "ack": ID?}  {"close": true}
import readline from "node:readline";
import { io } from "socket.io-client";

const url = process.argv[2];
const options = { reconnection: false, forceNew: true };
if (process.env.COOKIE) options.extraHeaders = { cookie: process.env.COOKIE };
if (process.env.TRANSPORTS) options.transports = process.env.TRANSPORTS.split(",");
const socket = io(url, options);
const out = (message) => process.stdout.write(JSON.stringify(message) + "\n");

// The engine may upgrade before the socket's connect event, so listen from the engine's open.
socket.io.on("open", () =>
  socket.io.engine.on("upgrade", (transport) => out({ type: "upgrade", transport: transport.name })),
);
socket.on("connect", () => out({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name }));
socket.on("connect_error", (error) => out({ type: "connect_error", message: error.message }));
socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
socket.onAny((event, ...args) => out({ type: "event", event, args }));

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const command = JSON.parse(line);
  if (command.close) {
    socket.close();
    setTimeout(() => process.exit(0), 50);
    return;
  }
  const args = command.args ?? [];
  if (command.ack !== undefined) {
    socket.timeout(command.timeout ?? 60000).emit(command.emit, ...args, (error, ...reply) =>
      out({ type: "ack", ack: command.ack, error: error ? error.message : null, reply }),
    );
  } else {
    socket.emit(command.emit, ...args);
  }
});
process.stdin.on("end", () => process.exit(0));
