// The runtime floor for W2 (bench/lib/floor.mjs): a Durable Object that accepts y-websocket clients
// with the Hibernation API and does nothing with what they send. It answers every sync step 1 with an
// empty sync step 2, so a client counts itself synced and a step 1 sent last marks the end of a run.
// What it costs per message is what any Durable Object pays before its own code does anything.
import { DurableObject } from "cloudflare:workers";

const EMPTY_STEP2 = new Uint8Array([0, 1, 2, 0, 0]);

export class FloorRoom extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async webSocketMessage(ws, message) {
    const bytes = typeof message === "string" ? undefined : new Uint8Array(message);
    if (bytes && bytes[0] === 0 && bytes[1] === 0) ws.send(EMPTY_STEP2);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    return env.FLOOR.get(env.FLOOR.idFromName(url.pathname)).fetch(request);
  },
};
