/**
 * @lattice-sync/client (packages/client) in Node over `ws`, against a real `wrangler dev`:
 *
 * - short-lived tokens are refreshed before they expire, and edits keep flowing past every expiry;
 * - a refresh that comes too late ends in a 4401, after which the client fetches a token and reconnects;
 * - whenSaved() resolves only once the server has committed (the REST JSON already has the edit);
 * - a permanent close (the document deleted) surfaces as `closed`/"deleted", with no reconnect after.
 */
import { describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { connect, type LatticeClient, type Status, type TokenSource } from "../../packages/client/src/index";
import { CloseCode } from "../../src/sync/close-codes";
import { DEMO_SECRET_KEY, devDoc, serverSuite, shortToken } from "./harness";

/** Node's `ws`, counting the sockets a client opens and the close codes they end with. */
function countingSocket() {
  const stats = { opened: 0, closeCodes: [] as number[] };
  class Counted extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      stats.opened++;
      this.on("close", (code) => stats.closeCodes.push(code));
    }
  }
  return { Counted, stats };
}

/** The file's wrangler dev; the clients its tests connect (in `suite.open`) are destroyed after the file. */
const suite = serverSuite<LatticeClient>();
const clients = suite.open;

const newDoc = (prefix: string) => devDoc(suite.server, prefix);

/** `getToken` may answer anything, as an app's may: the client has to cope with what is not a token. */
function client(docId: string, getToken: (docId: string) => unknown) {
  const { Counted, stats } = countingSocket();
  const c = connect({ url: suite.server.url, docId, getToken: getToken as TokenSource, WebSocketPolyfill: Counted as never });
  const states: Status[] = [];
  c.on("status", (s) => states.push(s));
  clients.push(c);
  return { c, stats, states };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function serverText(docId: string): Promise<string> {
  const res = await fetch(`${suite.server.url}/v1/docs/${docId}/json`, { headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as Record<string, string>).t ?? "";
}

/** Types one character every `everyMs` for `forMs` into `c`'s Y.Text "t". */
async function typeFor(c: LatticeClient, forMs: number, everyMs = 100): Promise<void> {
  const text = c.doc.getText("t");
  for (const until = Date.now() + forMs; Date.now() < until; ) {
    text.insert(text.length, String.fromCharCode(97 + (text.length % 26)));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe("tokens", () => {
  it("short-lived tokens are refreshed before they expire: edits keep reaching a second client, never closed, nothing lost", async () => {
    const { docId, token } = await newDoc("refresh");
    let calls = 0;
    const issued: { at: number; exp: number }[] = [];
    const w = client(docId, () => {
      calls++;
      issued.push({ at: Date.now(), exp: Date.now() + 4000 });
      return shortToken(docId, token, 4);
    });
    const r = client(docId, () => token);
    await Promise.all([w.c.whenSynced(), r.c.whenSynced()]);
    await typeFor(w.c, 12_000);
    const want = w.c.doc.getText("t").toString();
    await waitFor(() => r.c.doc.getText("t").toString() === want, "the reader to hold every character");
    expect(calls).toBeGreaterThanOrEqual(4); // 12 s of 4-second tokens
    // Each next token was asked for before the one in use expired (the timer, not only the 4401 path).
    for (let i = 1; i < issued.length; i++) expect(issued[i]!.at, `token ${i}`).toBeLessThan(issued[i - 1]!.exp);
    expect(w.states.some((s) => s.state === "closed")).toBe(false);
    await w.c.whenSaved();
    expect(await serverText(docId)).toBe(want);
  });

  it("a refresh that arrives too late: the server closes 4401, the client fetches a token and reconnects; edits made meanwhile arrive", async () => {
    const { docId, token } = await newDoc("late");
    let calls = 0;
    let first: string | undefined;
    // Call 1: a 3-second token. Call 2 (the timed refresh): the same token again, so it expires. Then fresh ones.
    const getToken = async () => {
      calls++;
      if (calls === 1) return (first = await shortToken(docId, token, 3));
      if (calls === 2) return first!;
      return shortToken(docId, token, 60);
    };
    const w = client(docId, getToken);
    const r = client(docId, () => token);
    await Promise.all([w.c.whenSynced(), r.c.whenSynced()]);
    await typeFor(w.c, 8_000);
    const want = w.c.doc.getText("t").toString();
    await waitFor(() => r.c.doc.getText("t").toString() === want, "the reader to hold every character");
    expect(w.stats.closeCodes).toContain(CloseCode.tokenExpired);
    expect(w.stats.opened).toBeGreaterThanOrEqual(2);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(w.states.some((s) => s.state === "closed")).toBe(false);
    expect(w.c.status.state).toBe("live");
    await w.c.whenSaved();
    expect(await serverText(docId)).toBe(want);
  });
});

describe("saved", () => {
  it("whenSaved() resolves only once the server has committed; a local edit turns saved false at once", async () => {
    const { docId, token } = await newDoc("saved");
    const logged = vi.spyOn(console, "error");
    const w = client(docId, () => token);
    await w.c.whenSynced();
    await w.c.whenSaved();
    const text = w.c.doc.getText("t");
    for (let i = 0; i < 6; i++) {
      text.insert(text.length, `edit ${i}; `);
      expect(w.c.status.saved).toBe(false);
      await w.c.whenSaved();
      expect(w.c.status.saved).toBe(true);
      expect(await serverText(docId)).toBe(text.toString());
    }
    // A handler is registered for message 100, so y-websocket never logs "Unable to compute message".
    expect(logged.mock.calls.filter((c) => /compute message/.test(String(c[0])))).toEqual([]);
    logged.mockRestore();
  });
});

describe("permanent closes", () => {
  it("DELETE: closed with reason 'deleted', and no reconnect attempt after", async () => {
    const { docId, token } = await newDoc("deleted");
    const w = client(docId, () => token);
    await w.c.whenSynced();
    const saved = w.c.whenSaved(); // already saved: resolves
    await saved;
    const res = await fetch(`${suite.server.url}/v1/docs/${docId}`, { method: "DELETE", headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(res.status).toBe(204);
    await waitFor(() => w.c.status.state === "closed", "state closed", 5000);
    expect(w.c.status.reason).toBe("deleted");
    expect(w.c.status.code).toBe(CloseCode.documentDeleted);
    w.c.doc.getText("t").insert(0, "too late");
    await expect(w.c.whenSaved()).rejects.toThrow(/deleted/);
    await new Promise((r) => setTimeout(r, 3000)); // y-websocket's backoff would have retried by now
    expect(w.stats.opened).toBe(1);
  });

  it("a document deleted before the client connects: the refused upgrade is explained by REST, closed 'deleted', no endless retry", async () => {
    const { docId, token } = await newDoc("gone-before");
    const res = await fetch(`${suite.server.url}/v1/docs/${docId}`, { method: "DELETE", headers: { authorization: `Bearer ${DEMO_SECRET_KEY}` } });
    expect(res.status).toBe(204);
    const w = client(docId, () => token);
    await waitFor(() => w.c.status.state === "closed", "state closed", 20_000);
    expect(w.c.status.reason).toBe("deleted");
    const opened = w.stats.opened;
    await new Promise((r) => setTimeout(r, 3000));
    expect(w.stats.opened).toBe(opened); // no more attempts once closed
  });
});

describe("the app's token server", () => {
  it("getToken failing at first (a page opened offline): the client keeps asking, then connects and syncs", async () => {
    const { docId, token } = await newDoc("offline-start");
    let calls = 0;
    const w = client(docId, () => {
      if (++calls <= 2) throw new Error("token server unreachable");
      return token;
    });
    await w.c.whenSynced();
    expect(calls).toBe(3);
    expect(w.states.some((s) => s.state === "closed")).toBe(false);
    expect(w.states.some((s) => s.error === "token server unreachable")).toBe(true); // reported while it lasted
    expect(w.c.status.error).toBeUndefined(); // and cleared by the token
  });
});

describe.concurrent("a getToken that keeps failing", () => {
  /** A client with one unsaved edit whose `getToken` answers `answer()`, and when it was called. */
  function failing(docId: string, answer: () => unknown) {
    const calls: number[] = [];
    const w = client(docId, () => {
      calls.push(Date.now());
      return answer();
    });
    w.c.doc.getText("t").insert(0, "unsaved"); // whenSaved() has something to wait for
    return { ...w, calls };
  }

  /** What every giving-up client shows: closed (code 0) with the error, both promises rejected, 5 calls with a doubling wait, no socket. */
  async function expectGaveUp(w: ReturnType<typeof failing>, error: RegExp) {
    await expect(w.c.whenSynced()).rejects.toThrow(error);
    await expect(w.c.whenSaved()).rejects.toThrow(error);
    expect(w.c.status).toMatchObject({ state: "closed", reason: "closed", code: 0, synced: false });
    expect(w.c.status.error).toMatch(error);
    expect(w.calls).toHaveLength(5);
    // Backoff: 1, 2, 4, 8 s between attempts (timers never fire early; 50 ms for clock granularity).
    const gaps = w.calls.slice(1).map((at, i) => at - w.calls[i]!);
    gaps.forEach((gap, i) => expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(1000 * 2 ** i - 50));
    expect(w.stats.opened).toBe(0);
  }

  it("getToken throws every time: status.error says why, then closed and whenSynced()/whenSaved() reject", async () => {
    const { docId } = await newDoc("token-throws");
    const w = failing(docId, () => {
      throw new Error("token endpoint said 500");
    });
    await expectGaveUp(w, /token endpoint said 500/);
  });

  it("mid-session: the token expires (4401) while getToken has started failing: closed 'expired' after its bounded attempts, not a loop", async () => {
    const { docId, token } = await newDoc("token-dies");
    let calls = 0;
    const w = client(docId, async () => {
      if (++calls === 1) return shortToken(docId, token, 3);
      throw new Error("token endpoint gone");
    });
    await w.c.whenSynced();
    await waitFor(() => w.c.status.state === "closed", "state closed", 40_000);
    expect(w.c.status).toMatchObject({ state: "closed", reason: "expired", code: CloseCode.tokenExpired, error: "token endpoint gone" });
    expect(w.stats.closeCodes).toEqual([CloseCode.tokenExpired]);
    expect(w.stats.opened).toBe(1); // no reconnect without a token
    w.c.doc.getText("t").insert(0, "after the token ran out");
    await expect(w.c.whenSaved()).rejects.toThrow(/expired: token endpoint gone/);
  });

  it("getToken returns the REST API's 404 body (a token asked for a missing document): not taken for a token, closed", async () => {
    const { docId } = await newDoc("token-404");
    const w = failing(docId, async () => {
      const res = await fetch(`${suite.server.url}/v1/docs/no-such-doc-${docId}/tokens`, {
        method: "POST",
        headers: { authorization: `Bearer ${DEMO_SECRET_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ userId: "u", access: "write" }),
      });
      expect(res.status).toBe(404);
      return res.json();
    });
    await expectGaveUp(w, /without a token: \{"error":\{"code":"not_found"/);
  });
});
