// The lost-first-event regression: COUNT sockets each emit `presence` the moment they are
// created (socket.io-client sends it right after CONNECT) and count the acknowledgements.
//   node burst.mjs URL COUNT     -> {"sent": N, "acked": M}
import { io } from "socket.io-client";

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
let acked = 0;
let settled = 0;
const sockets = [];
await new Promise((resolve) => {
  for (let i = 0; i < count; i++) {
    const socket = io(url, { reconnection: false, forceNew: true, transports: ["websocket"] });
    sockets.push(socket);
    socket.timeout(20000).emit("presence", { requestId: `burst-${i}` }, (error, reply) => {
      if (!error && reply && reply.requestId === `burst-${i}`) acked++;
      if (++settled === count) resolve();
    });
  }
});
sockets.forEach((s) => s.close());
process.stdout.write(JSON.stringify({ sent: count, acked }) + "\n");
process.exit(0);
