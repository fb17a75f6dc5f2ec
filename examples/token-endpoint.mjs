// The one piece of server code an app needs for Lattice: it keeps the secret key and asks Lattice for a client
// token (creating the document if it does not exist yet). Mount it on any Node HTTP server: GET /api/token?doc=ID.
import { randomUUID } from "node:crypto";

const LATTICE_URL = process.env.LATTICE_URL ?? "http://localhost:8787";
// The demo project's key that `npm run dev` creates; in production, a key from POST /v1/projects, kept secret.
const SECRET_KEY = process.env.LATTICE_SECRET_KEY ?? "sk_demo_dev_only_not_secret";

export async function tokenEndpoint(url, res) {
  // Your app decides here who the user is and whether they may open this document.
  const userId = `guest-${randomUUID().slice(0, 8)}`;
  const answer = await fetch(`${LATTICE_URL}/v1/docs/${encodeURIComponent(url.searchParams.get("doc") ?? "")}/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ userId, access: "write", create: true }),
  }).catch((e) => Response.json({ error: { code: "unreachable", message: `Lattice at ${LATTICE_URL}: ${e.message}` } }, { status: 502 }));
  const body = await answer.json();
  res.writeHead(answer.ok ? 200 : answer.status, { "content-type": "application/json", "cache-control": "no-store" });
  // The browser gets the token and the provider's server URL, never the secret key.
  res.end(JSON.stringify(answer.ok ? { token: body.token, syncBase: body.syncBase } : body));
}
