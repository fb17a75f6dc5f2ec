// The servers of a run: each peer on each runtime and storage medium it is measured on, each on its own
// port, listed so that Lattice and y-partyserver on the same runtime and medium sit next to each other
// (the rounds then alternate them: A B A B).
import { hocuspocusTarget } from "./hocuspocus.mjs";
import { floorTarget, latticeTarget, partyserverTarget, yWebsocketServerTarget } from "./targets.mjs";

/**
 * `peers`: lattice, lattice-base, y-partyserver, hocuspocus, y-websocket-server, floor. `media`: disk,
 * tmpfs. `runtimes`: wrangler, miniflare. Workers run on wrangler dev on every medium and on Miniflare on
 * tmpfs (the server's own cost, no dev proxy; disk adds the same fsync as under wrangler dev).
 */
export function serverMatrix({ peers, media, runtimes }) {
  let port = 18800;
  const out = [];
  const workerdPeers = peers.filter((p) => ["lattice", "lattice-base", "y-partyserver"].includes(p));
  const make = (peer, runtime, medium) => {
    const p = port++;
    if (peer === "lattice") return latticeTarget({ port: p, runtime, medium });
    if (peer === "y-partyserver") return partyserverTarget({ port: p, runtime, medium });
    if (!process.env.LATTICE_BASE) throw new Error("lattice-base needs LATTICE_BASE=<a checkout of the baseline commit, with node_modules>");
    // Baselines before the budgets were reworked needed MAX_UPDATES_PER_SECOND lifted for W2's writer.
    return latticeTarget({
      port: p,
      runtime,
      medium,
      peer: "lattice-base",
      label: "Lattice (baseline)",
      cwd: process.env.LATTICE_BASE,
      vars: { MAX_UPDATES_PER_SECOND: "1000000" },
    });
  };
  const combos = [];
  if (runtimes.includes("wrangler")) for (const m of media) combos.push(["wrangler", m]);
  if (runtimes.includes("miniflare")) combos.push(["miniflare", media.includes("tmpfs") ? "tmpfs" : media[0]]);
  for (const [runtime, medium] of combos) for (const peer of workerdPeers) out.push(make(peer, runtime, medium));
  if (peers.includes("hocuspocus")) for (const m of media) out.push(hocuspocusTarget({ port: port++, medium: m }));
  if (peers.includes("y-websocket-server")) out.push(yWebsocketServerTarget({ port: port++ }));
  if (peers.includes("floor")) for (const r of runtimes) out.push(floorTarget({ port: port++, runtime: r }));
  return out;
}
