/**
 * One open document: a Y.Doc synced by an unmodified y-websocket provider, bound to CodeMirror 6 with
 * y-codemirror.next (remote carets, selections and names come from awareness).
 */
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from "@codemirror/view";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { mintToken, type Access, type DocSummary } from "./api";
import type { Identity } from "./identity";

/** The root type the demo edits. Any Yjs app that binds a Y.Text of this name sees the same text. */
export const TEXT_NAME = "codemirror";

export type ConnectionState = "connecting" | "live" | "offline";

export interface Peer {
  clientId: number;
  name: string;
  color: string;
  access: Access;
  self: boolean;
}

export interface EditorSession {
  document: DocSummary;
  view: EditorView;
  provider: WebsocketProvider;
  destroy(): void;
}

export interface EditorHooks {
  onConnection(state: ConnectionState, detail: string): void;
  onPeers(peers: Peer[]): void;
  onFatal(message: string): void;
}

/** Refresh a token this long before it expires, so a reconnect never presents an expired one. */
const REFRESH_MARGIN_MS = 5 * 60_000;

export async function openEditor(parent: HTMLElement, docId: string, me: Identity, access: Access, hooks: EditorHooks): Promise<EditorSession> {
  const first = await mintToken(docId, me.userId, access);
  const base = first.url.slice(0, first.url.lastIndexOf("/")); // ws(s)://host/v1/sync
  const ydoc = new Y.Doc();
  const ytext = ydoc.getText(TEXT_NAME);
  const provider = new WebsocketProvider(base, docId, ydoc, {
    params: { token: first.token },
    // BroadcastChannel would sync same-browser tabs behind the server's back: off, so every tab shows real server sync.
    disableBc: true,
    maxBackoffTime: 2500,
  });
  provider.awareness.setLocalStateField("user", { name: me.name, color: me.color, colorLight: me.colorLight, access });

  // ---- tokens: refreshed before they expire, and at once when the server closes with 4401 ----
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let destroyed = false;
  const schedule = (expiresAt: string) => {
    clearTimeout(refreshTimer);
    const wait = Math.max(5_000, Date.parse(expiresAt) - Date.now() - REFRESH_MARGIN_MS);
    refreshTimer = setTimeout(() => void refresh(), wait);
  };
  const refresh = async () => {
    try {
      const next = await mintToken(docId, me.userId, access);
      provider.params.token = next.token; // y-websocket reads params on every (re)connect
      schedule(next.expiresAt);
    } catch {
      refreshTimer = setTimeout(() => void refresh(), 5_000);
    }
  };
  schedule(first.expiresAt);
  provider.on("closed", (event) => {
    if (event.code === 4401) void refresh().then(() => provider.connect());
    else if (event.code === 4404) hooks.onFatal("This document was deleted.");
  });

  // ---- connection indicator ----
  let everLive = false;
  const report = () => {
    if (!navigator.onLine) return hooks.onConnection("offline", "Offline — will sync when back online");
    if (provider.wsconnected && provider.synced) {
      everLive = true;
      return hooks.onConnection("live", "Live");
    }
    if (everLive) return hooks.onConnection("offline", "Offline — reconnecting…");
    hooks.onConnection("connecting", "Connecting…");
  };
  provider.on("status", report);
  provider.on("sync", report);
  // The browser knows first when the network is gone: stop the socket (edits stay local and queued in the
  // Y.Doc) and reconnect the moment it is back, rather than waiting for a socket timeout.
  const goOffline = () => {
    provider.disconnect();
    report();
  };
  const goOnline = () => {
    provider.connect();
    report();
  };
  window.addEventListener("offline", goOffline);
  window.addEventListener("online", goOnline);
  if (!navigator.onLine) provider.disconnect();
  report();

  // ---- who is here ----
  const peers = () => {
    const list: Peer[] = [];
    provider.awareness.getStates().forEach((state, clientId) => {
      const user = (state as { user?: { name?: unknown; color?: unknown; access?: unknown } }).user;
      if (!user || typeof user.name !== "string") return;
      list.push({
        clientId,
        name: user.name,
        color: typeof user.color === "string" ? user.color : "#888",
        access: user.access === "read" ? "read" : "write",
        self: clientId === ydoc.clientID,
      });
    });
    list.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
    hooks.onPeers(list);
  };
  provider.awareness.on("change", peers);
  peers();

  // ---- the editor ----
  const readOnly = access === "read";
  const undoManager = new Y.UndoManager(ytext);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap, indentWithTab]),
        highlightSpecialChars(),
        drawSelection(),
        EditorView.lineWrapping,
        placeholder(readOnly ? "Nothing here yet." : "Start writing… everyone on this page sees it as you type."),
        EditorState.readOnly.of(readOnly),
        EditorView.editable.of(!readOnly),
        EditorView.contentAttributes.of({ "aria-label": "Document text", spellcheck: "true" }),
        yCollab(ytext, provider.awareness, { undoManager }),
      ],
    }),
  });

  return {
    document: first.document,
    view,
    provider,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      clearTimeout(refreshTimer);
      window.removeEventListener("offline", goOffline);
      window.removeEventListener("online", goOnline);
      view.destroy();
      provider.destroy();
      ydoc.destroy();
    },
  };
}

/** Keeps the awareness name in step with the name field. */
export function setAwarenessName(session: EditorSession, me: Identity): void {
  const current = (session.provider.awareness.getLocalState() as { user?: Record<string, unknown> } | null)?.user ?? {};
  session.provider.awareness.setLocalStateField("user", { ...current, name: me.name });
}
