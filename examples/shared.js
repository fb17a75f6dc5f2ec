// What both example pages do before their editor: ask the app's own server for a token, then connect a stock
// y-websocket provider with the answer's syncBase, exactly as Lattice's token answer says to.
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

export const docId = new URLSearchParams(location.search).get("doc") ?? "example";

async function getToken() {
  const res = await fetch(`/api/token?doc=${encodeURIComponent(docId)}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error?.message ?? `token endpoint: ${res.status}`);
  return body;
}

export async function connect() {
  const { token, syncBase } = await getToken();
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(syncBase, docId, doc, { params: { token } });
  // A token lasts an hour: when a connection drops, the next reconnect (y-websocket's backoff) gets a fresh one.
  provider.on("connection-close", () => getToken().then(({ token }) => (provider.params.token = token), console.error));
  window.example = { doc, provider }; // for the console and the end-to-end test
  return { doc, provider };
}
