#!/usr/bin/env node
// The long form of test/e2e/relay-crowd.e2e.ts: thousands of clients on one document under a real
// `wrangler dev` with every limit at its default (the document's object holds 500 sockets, each relay 500:
// src/relay). Not part of any test suite (it takes minutes and most of the machine):
//
//   node_modules/.bin/node bench/relay-crowd.mjs [--clients=3000] [--edits=3]
//
// (Node 22, for node:sqlite; the system Node may be older.) State on tmpfs, a port of its own, a dev
// registry of its own. Each client is a distinct user speaking the y-websocket sync protocol with a
// Y.Doc of its own (bench/lib/relay-room.mjs RetryingClient: no awareness, the stock provider's retry
// and backoff after any close before it synced). Checked, with progress lines:
// - all connect; refusals before sync are counted by close code (1013 for a full relay is allowed: the
//   stock provider retries it), none is closed after it synced;
// - where they are, from the document's object's relay_roster (bench/lib/relay-roster.mjs): how many
//   relays, how many sockets each (and whether any holds more than MAX_CONNECTIONS_PER_RELAY);
// - REST presence counts every socket;
// - every client converges on each edit of a writer on the document's object and of one on a relay;
// - DELETE /v1/docs/{id} closes every client with 4404.
// Exits 1 if a check fails. bench/results/2026-12-07-w9/relay-crowd-3000.txt is one run's output.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import * as Y from "yjs";
import { freePort, startWranglerDev } from "../scripts/lib/wrangler-dev.mjs";
import { stateDir } from "./lib/paths.mjs";
import { RetryingClient, refusalsOf } from "./lib/relay-room.mjs";
import { relayRoster } from "./lib/relay-roster.mjs";
import { checklist, opt } from "./lib/checklist.mjs";
import { pool, sleep } from "./lib/yws.mjs";

const N = Number(opt("clients", 3000));
const EDITS = Number(opt("edits", 3));
const PER_RELAY = 500; // wrangler.toml's MAX_CONNECTIONS_PER_RELAY
const TOKEN_SECRET = "relay-crowd-token-secret-0123456789abcdef";
const DEMO_SECRET_KEY = "sk_demo_dev_only_not_secret"; // src/routes/dev.ts: the demo project's public key

const { log, check, failures } = checklist("crowd");

async function main() {
  const persistTo = stateDir("tmpfs", "lattice-relay-crowd-");
  // A dev registry of its own (as test/e2e/harness.ts): another wrangler dev of this Worker may be running.
  process.env.WRANGLER_REGISTRY_PATH = join(persistTo, "dev-registry");
  const port = await freePort();
  log(`starting wrangler dev on ${port} (default limits, state on ${persistTo}) ...`);
  const dev = await startWranglerDev({ port, persistTo, vars: { DEV_MODE: "true", ADMIN_TOKEN: "relay-crowd-admin-token-0123456789abcdef", TOKEN_SECRET } });
  const clients = [];
  try {
    const docId = `crowd-${Date.now().toString(36)}`;
    const res = await fetch(`${dev.url}/dev/docs/${docId}/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"userId":"owner"}' });
    if (res.status !== 201) throw new Error(`dev token: ${res.status} ${await res.text()}`);
    const { inc } = JSON.parse(Buffer.from((await res.json()).token.split(".")[1], "base64url").toString());
    const key = new TextEncoder().encode(TOKEN_SECRET);
    const url = (i) => async () => {
      const token = await new SignJWT({ prj: "demo", acc: "write", kid: "demo-key", doc: docId, ...(inc ? { inc } : {}) })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(`crowd-${i}`)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(key);
      return `ws://127.0.0.1:${port}/v1/sync/${docId}?token=${token}`;
    };
    for (let i = 0; i < N; i++) {
      const doc = new Y.Doc();
      const c = new RetryingClient(url(i), { doc, onUpdate: (u) => Y.applyUpdate(doc, u, "remote") });
      doc.on("update", (u, origin) => origin !== "remote" && c.sendUpdate(u));
      c.doc = doc;
      clients.push(c);
    }

    // Connect: the first alone (it is on the document's object), then everyone, 50 at a time.
    log(`document ${docId}: connecting ${N} clients (distinct users, 50 at a time) ...`);
    const t0 = performance.now();
    let synced = 0;
    const failed = [];
    const connect = async (c, i) => {
      try {
        await c.connect();
        if (++synced % 250 === 0) log(`  ${synced} synced (${JSON.stringify(refusalsOf(clients))} refusals so far)`);
      } catch (e) {
        failed.push([i, String(e?.message ?? e)]);
      }
    };
    await connect(clients[0], 0);
    await pool(clients.slice(1), 50, (c, k) => connect(c, k + 1));
    const refusals = refusalsOf(clients);
    log(
      `connected ${synced}/${N} in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${clients.reduce((s, c) => s + c.attempts, 0)} attempts; refusals before sync by close code ${JSON.stringify(refusals)}`,
    );
    check(failed.length === 0, `all ${N} synced${failed.length ? ` (${failed.length} did not: ${JSON.stringify(failed.slice(0, 3))})` : ""}`);
    check(
      Object.keys(refusals).every((code) => code === "1013"),
      "refusals for room size only (1013, retried); none of another kind",
    );

    // Where they are.
    const roster = await relayRoster(persistTo, docId);
    const byLink = Object.fromEntries([...(roster?.byLink ?? [])].map(([k, n]) => [`r${k}`, n]));
    const direct = N - (roster?.relayed ?? 0);
    log(`placement (the document's object's relay_roster): object ${direct}, ${roster?.byLink.size ?? 0} relays ${JSON.stringify(byLink)}`);
    check(direct <= 500, `the document's object holds at most RELAY_AFTER_CONNECTIONS (500): ${direct}`);
    const over = Object.entries(byLink).filter(([, n]) => n > PER_RELAY);
    check(
      over.length === 0,
      `no relay holds more than MAX_CONNECTIONS_PER_RELAY (${PER_RELAY})${over.length ? `: ${JSON.stringify(Object.fromEntries(over))}` : ""}`,
    );

    const presence = await (await fetch(`${dev.url}/v1/docs/${docId}/presence`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } })).json();
    check(presence.connections === N, `REST presence counts every socket: ${presence.connections} of ${N}`);

    // Edits from a writer on the document's object and one on a relay, each awaited everywhere.
    const onAuthority = clients[0];
    const relayIndex = clients.findIndex((_, i) => i >= Math.floor(N * 0.9) && roster?.userLink.has(`crowd-${i}`));
    const onRelay = clients[relayIndex];
    check(
      !roster?.userLink.has("crowd-0") && relayIndex > 0,
      `writers: crowd-0 on the document's object, crowd-${relayIndex} on relay r${roster?.userLink.get(`crowd-${relayIndex}`)}`,
    );
    const textOf = (c) => c.doc.getText("t").toString();
    for (let k = 0; k < EDITS; k++) {
      for (const [name, w] of [
        ["object", onAuthority],
        ["relay", onRelay],
      ]) {
        if (!w) continue;
        const t = performance.now();
        w.doc.getText("t").insert(w.doc.getText("t").length, `${name}-${k} `);
        const want = textOf(w);
        let behind = N;
        const until = performance.now() + 30_000;
        while (performance.now() < until) {
          behind = clients.filter((c) => textOf(c) !== want).length;
          if (behind === 0) break;
          await sleep(50);
        }
        check(behind === 0, `edit ${k + 1}/${EDITS} from the writer on the ${name}: ${N - behind}/${N} converged in ${Math.round(performance.now() - t)} ms`);
      }
    }
    const closedAfterSync = clients.filter((c) => c.closedCode !== undefined).length;
    check(closedAfterSync === 0, `no client closed by the server after it synced: ${closedAfterSync}`);

    // Delete: every client closed with 4404.
    const t1 = performance.now();
    const del = await fetch(`${dev.url}/v1/docs/${docId}`, { method: "DELETE", headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    check(del.status === 204, `DELETE /v1/docs/${docId}: ${del.status}`);
    const until = performance.now() + 30_000;
    while (performance.now() < until && clients.some((c) => c.closedCode === undefined)) await sleep(100);
    const codes = {};
    for (const c of clients) codes[c.closedCode ?? "open"] = (codes[c.closedCode ?? "open"] ?? 0) + 1;
    check(codes[4404] === N, `every client closed with 4404 within ${Math.round(performance.now() - t1)} ms: ${JSON.stringify(codes)}`);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await dev.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
  log(failures.length === 0 ? "all checks passed" : `${failures.length} check(s) failed`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
