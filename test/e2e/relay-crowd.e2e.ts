/**
 * A document's audience beyond its own object, against a real `wrangler dev` (src/relay, docs/SCALE.md),
 * with small relay limits so that 100 clients need the document's object and several relays:
 * RELAY_AFTER_CONNECTIONS=20 and MAX_CONNECTIONS_PER_RELAY=20, so the document's object holds 20 sockets
 * and the other 80 land on relays (the plan keeps relays about three quarters full: six of them), with
 * RELAY_TREE_WIDTH=2, so relays 2 and up get their feed from relay 0 or 1 (the tree's second level).
 *
 * Each client is an unmodified y-websocket provider over Node's `ws`, default options but the broadcast
 * channel, and a different user. A relay that is full when a random pick lands on it passes the upgrade to
 * the next relay (up to three times), then closes it with 1013, which the stock provider retries: that is
 * allowed, a permanent close is not. Checked: every
 * client syncs, an edit from a writer on the document's object and one from a writer on a relay reach
 * everyone, REST presence counts every socket, and deleting the document closes every provider with 4404.
 *
 * The same at the default limits and 3,000 clients is a script, not a test: `bench/relay-crowd.mjs`.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { DEMO_SECRET_KEY, devDoc, eventually, serverSuite, shortToken } from "./harness";

const RELAY_AFTER = 20;
const PER_RELAY = 20;
const CLIENTS = 100;

/** Relays 2 and up are fed by relay 0 or 1: the tree's second level, under wrangler dev. */
const TREE_WIDTH = 2;

const suite = serverSuite<WebsocketProvider>({
  RELAY_AFTER_CONNECTIONS: String(RELAY_AFTER),
  MAX_CONNECTIONS_PER_RELAY: String(PER_RELAY),
  RELAY_TREE_WIDTH: String(TREE_WIDTH),
});

interface Client {
  p: WebsocketProvider;
  /** Codes of the server's closes (a 1013 refusal of an upgrade included). */
  closes: number[];
  /** Codes of permanent closes (the provider's `closed` event: it stops reconnecting). */
  closed: number[];
}

async function join(docId: string, devToken: string, userId: string): Promise<Client> {
  const p = new WebsocketProvider(`${suite.server.url.replace(/^http/, "ws")}/v1/sync`, docId, new Y.Doc(), {
    params: { token: await shortToken(docId, devToken, 3600, userId) },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  suite.open.push(p);
  const c: Client = { p, closes: [], closed: [] };
  p.on("connection-close", (e) => {
    if (e) c.closes.push(e.code);
  });
  p.on("closed", (e) => c.closed.push(e.code));
  return c;
}

const text = (c: Client) => c.p.doc.getText("t").toString();

describe("a crowd beyond one object", () => {
  it(`${CLIENTS} stock providers over the document's object and its relays: all sync, edits from both reach everyone, presence counts all, delete closes all with 4404`, async () => {
    const { docId, token } = await devDoc(suite.server, "relay-crowd");
    // The document's object's share first, one by one: these sockets are on it (it never holds more).
    const crowd: Client[] = [];
    for (let i = 0; i < RELAY_AFTER; i++) {
      const c = await join(docId, token, `direct-${i}`);
      crowd.push(c);
      await eventually(async () => expect(c.p.synced).toBe(true), 30_000);
    }
    // The rest in bursts: every one of them lands on a relay (forwarded by the document's object, or
    // routed there by the Worker once the routing record is published).
    for (let i = RELAY_AFTER; i < CLIENTS; i += 20) {
      crowd.push(...(await Promise.all(Array.from({ length: Math.min(20, CLIENTS - i) }, (_, k) => join(docId, token, `relayed-${i + k}`)))));
    }
    await eventually(async () => expect(crowd.filter((c) => !c.p.synced).map((c) => crowd.indexOf(c))).toEqual([]), 60_000, 250);
    // Refusals for room size are transient: only 1013 ever, and no provider gave up.
    expect(crowd.flatMap((c) => c.closed)).toEqual([]);
    expect(crowd.flatMap((c) => c.closes).filter((code) => code !== 1013)).toEqual([]);
    // The first RELAY_AFTER never lost their socket: they are still the document's object's, so every
    // later one is on a relay.
    expect(crowd.slice(0, RELAY_AFTER).flatMap((c) => c.closes)).toEqual([]);

    // Server-side, where they are (GET /dev/docs/{id}/objects, DEV_MODE): the document's object holds its
    // share, the other 80 are on relays, at least four of them, none past its share.
    const objects = (await (await fetch(`${suite.server.url}/dev/docs/${docId}/objects`)).json()) as {
      authority: { sockets: number; relayed: number; links: number; fed: number };
      relays: { sockets: number }[];
    };
    expect(objects.authority.sockets).toBe(RELAY_AFTER);
    expect(objects.authority.relayed).toBe(CLIENTS - RELAY_AFTER);
    const perRelay = objects.relays.map((r) => r.sockets);
    expect(perRelay.reduce((a, b) => a + b, 0)).toBe(CLIENTS - RELAY_AFTER);
    expect(Math.max(...perRelay)).toBeLessThanOrEqual(PER_RELAY);
    expect(perRelay.filter((n) => n > 0).length).toBeGreaterThanOrEqual(Math.ceil((CLIENTS - RELAY_AFTER) / PER_RELAY));
    // A tree: the document's object feeds at most TREE_WIDTH relays; the others are fed by those.
    expect(objects.authority.fed).toBeLessThanOrEqual(TREE_WIDTH);
    expect(objects.authority.links).toBeGreaterThan(objects.authority.fed);

    const presence = await fetch(`${suite.server.url}/v1/docs/${docId}/presence`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(presence.status).toBe(200);
    const body = (await presence.json()) as { connections: number; users: { userId: string }[] };
    expect(body.connections).toBe(CLIENTS);
    expect(new Set(body.users.map((u) => u.userId)).size).toBe(CLIENTS);

    // A writer on the document's object, then one on a relay: both edits reach every client.
    const onAuthority = crowd[0]!;
    const onRelay = crowd[90]!;
    onAuthority.p.doc.getText("t").insert(0, "from the document's object");
    await eventually(async () => expect(crowd.filter((c) => text(c) !== "from the document's object").length).toBe(0), 20_000, 100);
    onRelay.p.doc.getText("t").insert(0, "from a relay; ");
    const both = "from a relay; from the document's object";
    await eventually(async () => expect(crowd.filter((c) => text(c) !== both).length).toBe(0), 20_000, 100);

    // Deleting the document closes every provider for good, relays' sockets included.
    const del = await fetch(`${suite.server.url}/v1/docs/${docId}`, { method: "DELETE", headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(del.status).toBe(204);
    await eventually(async () => expect(crowd.filter((c) => !c.closed.includes(4404)).length).toBe(0), 20_000, 100);
    expect(crowd.flatMap((c) => c.closed).filter((code) => code !== 4404)).toEqual([]);
    // and none of them reconnects.
    expect(crowd.every((c) => !c.p.shouldConnect && !c.p.wsconnected)).toBe(true);
  }, 120_000);
});
