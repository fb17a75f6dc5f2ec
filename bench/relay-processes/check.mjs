#!/usr/bin/env node
// Does a relay in a second `wrangler dev` process work with the document's object in the first? The
// checks of bench/relay-crowd.mjs at a small scale, against the "two" setup of servers.mjs:
//
//   node_modules/.bin/node bench/relay-processes/check.mjs [--clients=100] [--per-object=20] [--log]
//
// RELAY_AFTER_CONNECTIONS and MAX_CONNECTIONS_PER_RELAY are `--per-object`, so 100 clients need 4+ relays.
// What crosses the processes, and where it is exercised:
// - the relay's link: roomStub(...).fetch() upgrade answered with a WebSocket (relay -> document's object);
// - admitRelayed (JS RPC, relay -> document's object), once per relayed socket;
// - DocRoom.forward / the Worker's routing: relayStub(...).fetch() with the client's upgrade (first -> second);
// - work() (JS RPC, first -> second): GET /dev/docs/{id}/objects asks every relay;
// - the feed and the relays' writers' updates over the links; the erase (DELETE) down every link.
// wake() is the same kind of call as work() (a JS RPC on a DocRelay stub from the first process); it runs
// only when a link with sockets behind it drops, which this check does not provoke.
// Exits 1 if a check fails.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as Y from "yjs";
import { freePort } from "../../scripts/lib/wrangler-dev.mjs";
import { RetryingClient, refusalsOf } from "../lib/relay-room.mjs";
import { relayRoster } from "../lib/relay-roster.mjs";
import { pool, sleep } from "../lib/yws.mjs";
import { setup } from "./servers.mjs";
import { checklist, flag, opt } from "../lib/checklist.mjs";

const N = Number(opt("clients", 100));
const PER = Number(opt("per-object", 20));
const DEMO_SECRET_KEY = "sk_demo_dev_only_not_secret"; // src/routes/dev.ts: the demo project's public key

const { log, check, failures } = checklist("procs");
/** The Durable Object classes that have storage under a persist folder (v3/do/<worker>-<Class>). */
const classesIn = (dir) => (existsSync(join(dir, "v3", "do")) ? readdirSync(join(dir, "v3", "do")).sort() : []);

async function main() {
  const port = await freePort();
  const two = setup("two", { port, vars: { RELAY_AFTER_CONNECTIONS: String(PER), MAX_CONNECTIONS_PER_RELAY: String(PER) }, log: flag("log") });
  log(`starting two wrangler devs: main.wrangler.toml on ${port}, relays.wrangler.toml on ${port + 1} (${PER} sockets per object) ...`);
  const clients = [];
  try {
    await two.start();
    log(
      `up: ${two
        .processes()
        .map((p) => `${p.label} (pid ${p.pid})`)
        .join(", ")}`,
    );
    const docId = `procs-${Date.now().toString(36)}`;
    await two.prepare(docId);
    for (let i = 0; i < N; i++) {
      const doc = new Y.Doc();
      const c = new RetryingClient(() => two.wsUrl(docId, i), { doc, onUpdate: (u) => Y.applyUpdate(doc, u, "remote") });
      doc.on("update", (u, origin) => origin !== "remote" && c.sendUpdate(u));
      c.doc = doc;
      clients.push(c);
    }
    log(`document ${docId}: connecting ${N} clients (the first alone, then 10 at a time) ...`);
    const failed = [];
    const connect = (c, i) => c.connect(performance.now() + 60_000).catch((e) => failed.push([i, String(e?.message ?? e)]));
    await connect(clients[0], 0);
    await pool(clients.slice(1), 10, (c, k) => connect(c, k + 1));
    const refusals = refusalsOf(clients);
    check(
      failed.length === 0,
      `all ${N} synced${failed.length ? ` (${failed.length} did not: ${JSON.stringify(failed.slice(0, 3))})` : ""}; refusals before sync ${JSON.stringify(refusals)}`,
    );

    const roster = await relayRoster(two.persist, docId);
    const byLink = Object.fromEntries([...(roster?.byLink ?? [])].map(([k, n]) => [`r${k}`, n]));
    log(`placement (relay_roster of the document's object, first process): object ${N - (roster?.relayed ?? 0)}, relays ${JSON.stringify(byLink)}`);
    check(
      (roster?.byLink.size ?? 0) >= Math.ceil((N - PER) / PER),
      `sockets beyond ${PER} are on relays: ${roster?.relayed ?? 0} on ${roster?.byLink.size ?? 0} relays`,
    );
    const mainClasses = classesIn(two.persist);
    const relayClasses = classesIn(two.relaysPersist);
    log(`object storage: first process ${JSON.stringify(mainClasses)}; second ${JSON.stringify(relayClasses)}`);
    check(
      relayClasses.includes("lattice-relays-DocRelay") && !mainClasses.some((d) => d.endsWith("DocRelay")) && !relayClasses.some((d) => d.endsWith("DocRoom")),
      "relay objects live in the second process only, the document's object in the first only",
    );

    const objects = await (await fetch(`${two.url}/dev/docs/${docId}/objects`)).json();
    const onRelays = (objects.relays ?? []).reduce((s, r) => s + r.sockets, 0);
    log(`GET /dev/docs/${docId}/objects: authority ${JSON.stringify(objects.authority)}; relays ${JSON.stringify(objects.relays)}`);
    check(
      onRelays === (roster?.relayed ?? -1) && (objects.relays ?? []).every((r) => r.live || r.sockets === 0),
      `work() over RPC from the first process to each relay: ${onRelays} sockets, links live`,
    );

    const presence = await (await fetch(`${two.url}/v1/docs/${docId}/presence`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } })).json();
    check(presence.connections === N, `REST presence counts every socket: ${presence.connections} of ${N}`);

    const relayIndex = clients.findIndex((_, i) => i > 0 && roster?.userLink.has(`user-${i}`));
    const textOf = (c) => c.doc.getText("t").toString();
    for (const [name, w] of [
      ["the document's object", clients[0]],
      [`relay r${roster?.userLink.get(`user-${relayIndex}`)}`, clients[relayIndex]],
    ]) {
      if (!w) continue;
      const t = performance.now();
      w.doc.getText("t").insert(w.doc.getText("t").length, `${name}; `);
      const want = textOf(w);
      let behind = N;
      for (const until = performance.now() + 20_000; performance.now() < until; await sleep(50)) {
        behind = clients.filter((c) => textOf(c) !== want).length;
        if (behind === 0) break;
      }
      check(behind === 0, `an edit from a writer on ${name}: ${N - behind}/${N} converged in ${Math.round(performance.now() - t)} ms`);
    }
    check(
      clients.every((c) => c.closedCode === undefined),
      "no client closed by the server after it synced",
    );

    const del = await fetch(`${two.url}/v1/docs/${docId}`, { method: "DELETE", headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    const t1 = performance.now();
    for (const until = t1 + 20_000; performance.now() < until && clients.some((c) => c.closedCode === undefined); ) await sleep(100);
    const codes = {};
    for (const c of clients) codes[c.closedCode ?? "open"] = (codes[c.closedCode ?? "open"] ?? 0) + 1;
    check(
      del.status === 204 && codes[4404] === N,
      `DELETE ${del.status}: every client closed with 4404 within ${Math.round(performance.now() - t1)} ms: ${JSON.stringify(codes)}`,
    );
  } catch (e) {
    failures.push(String(e?.stack ?? e));
    log(`FAILED: ${e?.stack ?? e}`);
  } finally {
    if (failures.length > 0) console.log(`servers' output (last part):\n${two.output()}`);
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await two.stop();
  }
  log(failures.length === 0 ? "all checks passed" : `${failures.length} check(s) failed`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main();
