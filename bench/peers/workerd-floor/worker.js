// The runtime floor (bench/lib/floor.mjs, bench/lib/targets.mjs floorTarget): Durable Objects that accept
// y-websocket clients with the Hibernation API and do as little as a sync server can. Both answer every
// sync step 1 with an empty sync step 2, so a client counts itself synced and a step 1 sent last marks
// the end of a run.
// - FloorRoom (any path): ignores everything else. W2's writer into it: the runtime's cost per message.
// - RelayRoom (/relay/<room>): sends each sync update, untouched, to every other socket of the room.
//   W1 through it: the runtime's own fan-out latency, with no Yjs, no storage and no server logic.
import { DurableObject } from "cloudflare:workers";

const EMPTY_STEP2 = new Uint8Array([0, 1, 2, 0, 0]);
const isStep1 = (b) => b[0] === 0 && b[1] === 0;
const isUpdate = (b) => b[0] === 0 && b[1] === 2;

class HibernatingRoom extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
}

export class FloorRoom extends HibernatingRoom {
  async webSocketMessage(ws, message) {
    if (typeof message !== "string" && isStep1(new Uint8Array(message))) ws.send(EMPTY_STEP2);
  }
}

export class RelayRoom extends HibernatingRoom {
  async webSocketMessage(ws, message) {
    if (typeof message === "string") return;
    const bytes = new Uint8Array(message);
    if (isStep1(bytes)) ws.send(EMPTY_STEP2);
    else if (isUpdate(bytes)) for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(message);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    const ns = url.pathname.startsWith("/relay/") ? env.RELAY : env.FLOOR;
    return ns.get(ns.idFromName(url.pathname)).fetch(request);
  },
};
