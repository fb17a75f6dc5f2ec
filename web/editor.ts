/**
 * One open document: a Y.Doc synced by @lattice-sync/client (an unmodified y-websocket provider underneath,
 * plus token refresh and the saved signal), bound to CodeMirror 6 with y-codemirror.next (remote carets,
 * selections and names come from awareness).
 */
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from "@codemirror/view";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import type { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { connect, type LatticeClient, type Status } from "../packages/client/src/index";
import { mintToken, type Access, type DocSummary } from "./api";
import type { Identity } from "./identity";

/** The root type the demo edits. Any Yjs app that binds a Y.Text of this name sees the same text. */
export const TEXT_NAME = "codemirror";

export type ConnectionState = "connecting" | "live" | "offline";
export type SaveState = "saving" | "saved";

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
  client: LatticeClient;
  /** A current client token of this page's access, for the document's REST API. */
  token(): Promise<string>;
  destroy(): void;
}

export interface EditorHooks {
  onConnection(state: ConnectionState, detail: string): void;
  onSaved(state: SaveState, detail: string): void;
  onPeers(peers: Peer[]): void;
  onFatal(message: string): void;
}

const CLOSED_MESSAGES: Record<string, string> = {
  "too-large": "Disconnected — this edit is too large to save",
  "too-many-client-ids": "Disconnected — too many editing sessions",
  forbidden: "Disconnected — access refused",
  expired: "Disconnected — could not renew access",
};

export async function openEditor(parent: HTMLElement, docId: string, me: Identity, access: Access, hooks: EditorHooks): Promise<EditorSession> {
  // The first token also brings the document's summary (and tells us dev mode is on); later ones are refreshes.
  const first = await mintToken(docId, me.userId, access);
  let firstToken: string | undefined = first.token;
  // The newest token, for REST calls (the History panel): reused while it has a minute left.
  let latest = { token: first.token, expiresAt: Date.parse(first.expiresAt) };
  const mint = async () => {
    const t = await mintToken(docId, me.userId, access);
    latest = { token: t.token, expiresAt: Date.parse(t.expiresAt) };
    return t.token;
  };
  const client = connect({
    url: location.origin,
    docId,
    getToken: async () => {
      const t = firstToken ?? (await mint());
      firstToken = undefined;
      return t;
    },
    // BroadcastChannel would sync same-browser tabs behind the server's back: off, so every tab shows real server sync.
    disableBc: true,
  });
  const { provider, doc: ydoc } = client;
  const ytext = ydoc.getText(TEXT_NAME);
  provider.awareness.setLocalStateField("user", { name: me.name, color: me.color, colorLight: me.colorLight, access });
  let destroyed = false;

  // ---- connection and save indicators ----
  const report = (s: Status = client.status) => {
    if (s.state === "closed") {
      if (s.reason === "deleted") return hooks.onFatal("This document was deleted.");
      hooks.onConnection("offline", CLOSED_MESSAGES[s.reason ?? ""] ?? "Disconnected");
    } else if (!navigator.onLine) hooks.onConnection("offline", "Offline — will sync when back online");
    else if (s.state === "live") hooks.onConnection("live", "Live");
    else if (s.state === "offline") hooks.onConnection("offline", "Offline — reconnecting…");
    else hooks.onConnection("connecting", "Connecting…");
    // Unsaved edits while connected are on their way; while not, they wait in this tab.
    if (s.saved) hooks.onSaved("saved", "Saved");
    else hooks.onSaved("saving", s.state === "live" ? "Saving…" : "Not saved yet");
  };
  client.on("status", report);
  // The browser knows first when the network is gone: stop the socket (edits stay local and queued in the
  // Y.Doc) and reconnect the moment it is back, rather than waiting for a socket timeout.
  const goOffline = () => {
    provider.disconnect();
    report();
  };
  const goOnline = () => {
    if (client.status.state !== "closed") provider.connect();
    report();
  };
  window.addEventListener("offline", goOffline);
  window.addEventListener("online", goOnline);
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
    client,
    token: async () => (latest.expiresAt - Date.now() > 60_000 ? latest.token : mint()),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      window.removeEventListener("offline", goOffline);
      window.removeEventListener("online", goOnline);
      view.destroy();
      client.destroy();
      ydoc.destroy();
    },
  };
}

/** Keeps the awareness name in step with the name field. */
export function setAwarenessName(session: EditorSession, me: Identity): void {
  const current = (session.provider.awareness.getLocalState() as { user?: Record<string, unknown> } | null)?.user ?? {};
  session.provider.awareness.setLocalStateField("user", { ...current, name: me.name });
}
