/**
 * The sections demo (/s/{id}): one document whose Y.Map "sections" holds two Yjs subdocuments, each a Y.Text
 * in a small CodeMirror editor. @lattice-sync/client syncs each loaded subdocument as a document of its own
 * ({id}.{guid}) with the same workspace token, and reports each one's status and saved signal: this file has
 * no per-subdocument connection code, only the editors.
 */
import { defaultKeymap } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";
import { connect, type LatticeClient, type Status } from "../packages/client/src/index";
import { mintWorkspaceToken, type DocSummary } from "./api";
import { h } from "./dom";
import type { Identity } from "./identity";

/** The parent's map of sections, and the root type each section's subdocument edits. */
export const SECTIONS_MAP = "sections";
export const SECTION_TEXT = "text";
export const SECTION_KEYS = ["a", "b"] as const;

export interface SectionsSession {
  document: DocSummary;
  client: LatticeClient;
  destroy(): void;
}

/** A status pill for one connection: data-state is the client's state, data-saved "saved" or "saving". */
export function sectionStatus(section: string) {
  const label = h("span", { class: "status-label" }, "Not loaded");
  const el = h(
    "span",
    { class: "status", "data-testid": "section-status", "data-section": section, "data-state": "connecting" },
    h("span", { class: "dot" }),
    label,
  );
  return {
    el,
    set(docId: string, s: Status) {
      el.dataset.state = s.state === "closed" ? "offline" : s.state;
      el.dataset.clientState = s.state;
      el.dataset.saved = s.saved ? "saved" : "saving";
      el.dataset.docId = docId;
      el.title = docId;
      const state =
        s.state === "closed"
          ? `Closed (${s.reason}${s.error ? `: ${s.error}` : ""})`
          : s.state === "live"
            ? "Live"
            : s.state === "offline"
              ? "Offline"
              : "Connecting…";
      label.textContent = `${state} · ${s.saved ? "Saved" : "Saving…"}`;
    },
  };
}

interface Section {
  key: string;
  host: HTMLElement;
  status: ReturnType<typeof sectionStatus>;
  doc?: Y.Doc;
  view?: EditorView;
}

export async function openSections(
  hosts: { key: string; host: HTMLElement; status: ReturnType<typeof sectionStatus> }[],
  docId: string,
  me: Identity,
  onStatus: (s: Status) => void,
): Promise<SectionsSession> {
  // One workspace token covers the document and every subdocument; reused while it has a minute left.
  let latest = await mintWorkspaceToken(docId, me.userId);
  const getToken = async () => {
    if (Date.parse(latest.expiresAt) - Date.now() < 60_000) latest = await mintWorkspaceToken(docId, me.userId);
    return latest.token;
  };
  const client = connect({ url: location.origin, docId, getToken, disableBc: true });
  client.on("status", onStatus);
  onStatus(client.status);
  const sections: Section[] = hosts.map((s) => ({ ...s }));
  const user = { name: me.name, color: me.color, colorLight: me.colorLight, access: "write" };

  // Each section shows its subdocument's status, whatever depth or order the client reports it in.
  client.on("subdoc", (e) => {
    const section = sections.find((s) => s.doc === e.doc);
    if (!section || e.removed) return;
    section.status.set(e.docId, e.status);
    attach(section);
  });

  const map = client.doc.getMap<Y.Doc>(SECTIONS_MAP);
  /**
   * Shows the subdocument the map holds for each section, loading it (a remote one arrives unloaded): the
   * client opens it on `${docId}.${guid}`, at once or, when loaded inside an observer, once the transaction ends.
   */
  const bind = () => {
    for (const section of sections) {
      const sub = map.get(section.key);
      if (!sub || sub === section.doc) continue;
      section.view?.destroy();
      section.view = undefined;
      section.doc = sub;
      sub.load();
      attach(section);
    }
  };
  /** The section's editor on its subdocument, once the client syncs it. */
  const attach = (section: Section) => {
    const sub = section.doc;
    const sync = sub && client.subdocs.get(sub);
    if (!sub || !sync || section.view) return;
    sync.provider.awareness.setLocalStateField("user", user);
    section.status.set(sync.docId, sync.status);
    const text = sub.getText(SECTION_TEXT);
    section.view = new EditorView({
      parent: section.host,
      state: EditorState.create({
        doc: text.toString(),
        extensions: [
          keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
          EditorView.lineWrapping,
          placeholder(`Section ${section.key.toUpperCase()}: a subdocument of its own…`),
          EditorView.contentAttributes.of({ "aria-label": `Section ${section.key.toUpperCase()}` }),
          yCollab(text, sync.provider.awareness, { undoManager: new Y.UndoManager(text) }),
        ],
      }),
    });
  };
  map.observe(bind);
  await client.whenSynced();
  // The first page to open the document makes the sections; two at once may both do it, and the map keeps one.
  const missing = SECTION_KEYS.filter((k) => !map.has(k));
  if (missing.length) client.doc.transact(() => missing.forEach((k) => map.set(k, new Y.Doc())));
  bind();

  return {
    document: latest.document,
    client,
    destroy() {
      map.unobserve(bind);
      for (const s of sections) s.view?.destroy();
      client.destroy();
      client.doc.destroy();
    },
  };
}
