// W8's observer process: the person who moves a cursor and a few others who watch for it, each a
// stock-behaving client of the same room (echo and renewals included), in a process of their own. The
// main generator hosts hundreds of people and, on two cores, takes tens of milliseconds to hand one
// presence message to all of them; people in a real room each have their own machine. What the
// observers measure is what the server does; what the crowd in the generator measures adds the
// generator's own queue. W8 reports both.
//
// Driven by the parent over IPC (fork): start {urls, clientOptions, firstIndex, total, syncMs} → ready {moverId, unsynced};
// seen → seen {min, missing}; go {seconds} → done {sent, arrivals, missing, closed, messagesIn}; close.
import { YwsClient, pool, sleep } from "./yws.mjs";
import { announce, seen, spreadRenewals, stockClient, wallNow } from "./stock-client.mjs";

let people = [];
let phases = [];
let total = 0;
const arrivals = []; // [k, wall ms] at observers
const last = new Map();
let moverId;

const onApplied = (h, now) => {
  if (moverId === undefined || h.awareness.clientID === moverId) return;
  const k = h.awareness.getStates().get(moverId)?.cursor;
  if (typeof k !== "number" || last.get(h) === k) return;
  last.set(h, k);
  arrivals.push([k, wallNow(now)]);
};

const missing = () => people.reduce((s, h) => s + (total - seen(h)), 0);

process.on("message", async (m) => {
  if (m.type === "start") {
    total = m.total;
    people = await pool(
      m.urls.map((url, j) => [url, j]),
      m.urls.length, // all at once: each waits at most syncMs, and the parent waits for all of them
      async ([url, j]) => {
        const h = await stockClient((opts) => Promise.resolve(new YwsClient(url, { ...m.clientOptions, ...opts })), m.firstIndex + j, { onApplied });
        // A server that does not admit the room: counted as not synced, as in the generator.
        let timer;
        const gaveUp = new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), m.syncMs)));
        const outcome = await Promise.race([h.c.connect().then(() => h.c.synced), gaveUp]).catch(() => "failed");
        clearTimeout(timer);
        h.unsynced = outcome === "timeout" || outcome === "failed";
        announce(h);
        return h;
      },
    );
    moverId = people[0].awareness.clientID;
    process.send({ type: "ready", moverId, unsynced: people.filter((h) => h.unsynced).length });
  } else if (m.type === "seen") {
    process.send({ type: "seen", min: Math.min(...people.map(seen)), missing: missing() });
  } else if (m.type === "go") {
    phases = spreadRenewals(people);
    const mover = people[0];
    const sent = [];
    let worstMissing = 0;
    const sampler = setInterval(() => (worstMissing = Math.max(worstMissing, missing())), 2_000);
    const msgs0 = people.reduce((s, h) => s + h.c.messagesIn, 0);
    const start = performance.now();
    for (let k = 0; k < m.seconds; k++) {
      const wait = start + k * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      sent.push([k, wallNow()]);
      mover.awareness.setLocalStateField("cursor", k);
    }
    await sleep(Math.max(0, start + m.seconds * 1000 - performance.now()));
    const messagesIn = people.reduce((s, h) => s + h.c.messagesIn, 0) - msgs0;
    await sleep(2_000); // the last move's arrivals
    clearInterval(sampler);
    process.send({ type: "done", sent, arrivals, missing: missing(), worstMissing, closed: people.filter((h) => h.c.closed).length, messagesIn });
  } else if (m.type === "close") {
    for (const t of phases) clearTimeout(t);
    for (const h of people) h.awareness.destroy();
    await Promise.all(people.map((h) => h.c.close()));
    process.exit(0);
  }
});
