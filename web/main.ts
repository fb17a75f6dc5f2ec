/** The demo: `/` lists the demo project's documents, `/d/{id}` opens one (creating it in development). */
import "./styles.css";
import { createDoc, DevModeOff, DocApi, listDocs, renameDoc, type Access, type DocSummary } from "./api";
import { h, relativeTime } from "./dom";
import { openEditor, setAwarenessName, TEXT_NAME, type ConnectionState, type EditorSession, type Peer, type SaveState } from "./editor";
import { historyPanel } from "./history";
import { identity, initials, rename } from "./identity";
import { openSections, SECTION_KEYS, sectionStatus } from "./sections";

const root = document.getElementById("app") as HTMLElement;
const me = identity();

function brand(): HTMLElement {
  return h("a", { class: "brand", href: "/" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Lattice");
}

function devModeNotice(): HTMLElement {
  return h(
    "section",
    { class: "notice" },
    h("h2", {}, "This server is not in development mode"),
    h(
      "p",
      {},
      "The demo gets its tokens from /dev routes that exist only under ",
      h("code", {}, "npm run dev"),
      ". In production your own server mints a token with ",
      h("code", {}, "POST /v1/docs/{id}/tokens"),
      " and hands it to the browser.",
    ),
  );
}

// ---------------------------------------------------------------- home

async function home(): Promise<void> {
  document.title = "Lattice · collaborative editor";
  const list = h("ul", { class: "doc-list", "data-testid": "doc-list" }, h("li", { class: "muted" }, "Loading…"));
  const title = h("input", { type: "text", name: "title", placeholder: "Untitled document", maxlength: "200", "aria-label": "Title of the new document" });
  const button = h("button", { type: "submit", class: "primary", "data-testid": "new-doc" }, "New document");
  const form = h("form", { class: "new-doc" }, title, button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    button.disabled = true;
    createDoc(title.value.trim() || undefined)
      .then((doc) => location.assign(`/d/${encodeURIComponent(doc.id)}`))
      .catch((err: unknown) => {
        button.disabled = false;
        alert(err instanceof Error ? err.message : String(err));
      });
  });

  root.replaceChildren(
    h("header", { class: "topbar" }, brand()),
    h(
      "main",
      { class: "home" },
      h(
        "section",
        { class: "intro" },
        h("h1", {}, "Write together, live."),
        h("p", { class: "lede" }, "Every document is a Yjs document synced through a Cloudflare Durable Object. Open one in two windows and type in both."),
        form,
        h(
          "p",
          { class: "doc-meta" },
          "Or try ",
          h("a", { href: `/s/sections-${Math.random().toString(36).slice(2, 10)}`, "data-testid": "new-sections" }, "a document with two sections"),
          ", each a Yjs subdocument synced as a document of its own.",
        ),
      ),
      h("section", { class: "card" }, h("h2", {}, "Documents"), list),
    ),
  );

  let docs: DocSummary[];
  try {
    docs = await listDocs();
  } catch (err) {
    if (err instanceof DevModeOff) {
      form.remove();
      list.closest("section")?.replaceWith(devModeNotice());
      return;
    }
    list.replaceChildren(h("li", { class: "error" }, `Could not load documents: ${String(err)}`));
    return;
  }
  if (docs.length === 0) {
    list.replaceChildren(h("li", { class: "muted" }, "No documents yet. Create the first one above."));
    return;
  }
  list.replaceChildren(
    ...docs.map((d) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: `/d/${encodeURIComponent(d.id)}` },
          h("span", { class: "doc-title" }, d.title || "Untitled"),
          h("span", { class: "doc-meta" }, h("code", {}, d.id), ` · edited ${relativeTime(d.updatedAt)}`),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- document

function statusPill(): { el: HTMLElement; set(state: ConnectionState, label: string): void } {
  const label = h("span", { class: "status-label" }, "Connecting…");
  const el = h(
    "span",
    { class: "status", "data-testid": "status", "data-state": "connecting", role: "status", "aria-live": "polite" },
    h("span", { class: "dot" }),
    label,
  );
  return {
    el,
    set(state, text) {
      el.dataset.state = state;
      label.textContent = text;
    },
  };
}

/** "Saving…" until every local edit is durable on the server (the client's `saved`), then "Saved". */
function savePill(): { el: HTMLElement; set(state: SaveState, label: string): void } {
  const label = h("span", { class: "status-label" }, "Saved");
  const el = h("span", { class: "status save-state", "data-testid": "saved", "data-state": "saved" }, h("span", { class: "dot" }), label);
  return {
    el,
    set(state, text) {
      el.dataset.state = state;
      label.textContent = text;
    },
  };
}

function peerItem(p: Peer): HTMLElement {
  const avatar = h("span", { class: "avatar", style: `--c:${p.color}`, "aria-hidden": "true" }, initials(p.name));
  return h(
    "li",
    { "data-client": String(p.clientId) },
    avatar,
    h("span", { class: "peer-name" }, p.name),
    p.self ? h("span", { class: "tag" }, "you") : null,
    p.access === "read" ? h("span", { class: "tag" }, "viewing") : null,
  );
}

function copyButton(text: () => string, label: string): HTMLButtonElement {
  const button = h("button", { type: "button" }, label);
  button.addEventListener("click", () => {
    void navigator.clipboard?.writeText(text()).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = label), 1500);
      },
      () => undefined,
    );
  });
  return button;
}

async function documentPage(docId: string, access: Access): Promise<void> {
  document.title = "Untitled · Lattice";
  const status = statusPill();
  const saved = savePill();
  const faces = h("ul", { class: "faces", "aria-label": "People here" });
  const peers = h("ul", { class: "peers", "data-testid": "peers" });
  const host = h("div", { class: "editor-host", "data-testid": "editor" });
  // The document's title, as the list shows it ("Untitled" when it has none); a writer edits it in place.
  const titleInput = h("input", {
    type: "text",
    maxlength: "200",
    placeholder: "Untitled",
    "aria-label": "Document title",
    "data-testid": "doc-title",
    disabled: true, // until the document is open
  });
  const heading = h("h1", { class: "doc-heading", "data-testid": "doc-heading" }, access === "write" ? titleInput : "Untitled");
  const crumb = h("span", { class: "crumb-doc", title: docId }, docId);
  const shareUrl = `${location.origin}/d/${encodeURIComponent(docId)}`;
  const readUrl = `${shareUrl}?access=read`;
  const nameInput = h("input", { type: "text", value: me.name, maxlength: "40", "aria-label": "Your name", "data-testid": "name" });
  const history = historyPanel();
  history.el.hidden = true; // shown once the document is open

  root.replaceChildren(
    h(
      "header",
      { class: "topbar" },
      brand(),
      h("span", { class: "crumb" }, "/"),
      crumb,
      h("span", { class: "spacer" }),
      faces,
      // A reader has nothing to save.
      access === "write" ? saved.el : null,
      status.el,
    ),
    h(
      "main",
      { class: "doc-layout" },
      h(
        "article",
        { class: "editor-card" },
        h("div", { class: "editor-head" }, heading, access === "read" ? h("span", { class: "badge", "data-testid": "read-only" }, "Read-only") : null),
        host,
      ),
      h(
        "aside",
        { class: "side" },
        h("section", {}, h("h2", {}, "Here now"), peers),
        history.el,
        h(
          "section",
          {},
          h("h2", {}, "Share"),
          h("input", {
            type: "text",
            readonly: true,
            value: shareUrl,
            "aria-label": "Link to this document",
            "data-testid": "share-link",
            onfocus: (e: Event) => (e.target as HTMLInputElement).select(),
          }),
          h(
            "div",
            { class: "row" },
            copyButton(() => shareUrl, "Copy link"),
            copyButton(() => readUrl, "Copy read-only link"),
          ),
        ),
        h("section", {}, h("h2", {}, "Your name"), nameInput),
        h("a", { class: "back", href: "/" }, "← All documents"),
      ),
    ),
  );

  let session: EditorSession;
  try {
    session = await openEditor(host, docId, me, access, {
      onConnection: (state, label) => status.set(state, label),
      onSaved: (state, label) => saved.set(state, label),
      onPeers: (list) => {
        peers.replaceChildren(...list.map(peerItem));
        faces.replaceChildren(
          ...list
            .slice(0, 5)
            .map((p) => h("li", { title: p.self ? `${p.name} (you)` : p.name }, h("span", { class: "avatar", style: `--c:${p.color}` }, initials(p.name)))),
        );
      },
      onFatal: (message) => {
        status.set("offline", message);
        host.replaceChildren(h("p", { class: "error" }, message));
      },
    });
  } catch (err) {
    if (err instanceof DevModeOff) {
      status.el.remove();
      saved.el.remove();
      root.querySelector("main")?.replaceWith(h("main", { class: "home" }, devModeNotice()));
    } else {
      status.set("offline", "Not connected");
      host.replaceChildren(h("p", { class: "error" }, `Could not open the document: ${String(err)}`));
    }
    return;
  }
  const showTitle = (title: string | null) => {
    titleInput.value = title ?? "";
    if (access !== "write") heading.textContent = title || "Untitled";
    document.title = `${title || "Untitled"} · Lattice`;
  };
  showTitle(session.document.title);
  titleInput.disabled = false;
  let savedTitle = titleInput.value;
  // `change`: on Enter or when the field loses focus, not on every key.
  titleInput.addEventListener("change", () => {
    const title = titleInput.value.trim();
    if (title === savedTitle) return;
    renameDoc(docId, title).then(
      (doc) => {
        savedTitle = doc.title ?? "";
        showTitle(doc.title);
        titleInput.removeAttribute("aria-invalid");
        titleInput.title = "";
      },
      (err: unknown) => {
        titleInput.setAttribute("aria-invalid", "true");
        titleInput.title = `Not saved: ${err instanceof Error ? err.message : String(err)}`;
      },
    );
  });
  titleInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") titleInput.blur();
  });
  // A handle for the console and the end-to-end tests.
  (window as unknown as { lattice?: unknown }).lattice = { provider: session.provider, view: session.view, client: session.client };

  nameInput.addEventListener("change", () => {
    const name = nameInput.value.trim().slice(0, 40);
    if (!name) return;
    me.name = name;
    rename(name);
    setAwarenessName(session, me);
  });
  const text = session.client.doc.getText(TEXT_NAME);
  history.attach({
    api: new DocApi(docId, session.token),
    access,
    liveText: () => text.toString(),
    onLiveChange: (fn) => {
      text.observe(fn);
      return () => text.unobserve(fn);
    },
    whenSaved: () => session.client.whenSaved(),
  });
  history.el.hidden = false;
  window.addEventListener("pagehide", () => {
    history.destroy();
    session.destroy();
  });
  if (access === "write") session.view.focus();
}

// ---------------------------------------------------------------- sections (subdocuments)

async function sectionsPage(docId: string): Promise<void> {
  document.title = "Sections · Lattice";
  const status = statusPill();
  const saved = savePill();
  const sections = SECTION_KEYS.map((key) => ({ key, host: h("div", { class: "section-host", "data-testid": `section-${key}` }), status: sectionStatus(key) }));
  root.replaceChildren(
    h(
      "header",
      { class: "topbar" },
      brand(),
      h("span", { class: "crumb" }, "/"),
      h("span", { class: "crumb-doc", title: docId }, docId),
      h("span", { class: "spacer" }),
      saved.el,
      status.el,
    ),
    h(
      "main",
      { class: "sections-layout" },
      h(
        "p",
        { class: "doc-meta" },
        "Each section is a Yjs subdocument of this document, synced by @lattice-sync/client as the document ",
        h("code", {}, `${docId}.{guid}`),
        " with one workspace token.",
      ),
      ...sections.map((s) =>
        h(
          "section",
          { class: "editor-card section-card" },
          h("div", { class: "editor-head" }, h("h2", { class: "doc-heading" }, `Section ${s.key.toUpperCase()}`), s.status.el),
          s.host,
        ),
      ),
      h("a", { class: "back", href: "/" }, "← All documents"),
    ),
  );
  try {
    const session = await openSections(sections, docId, me, (s) => {
      if (s.state === "closed") status.set("offline", `Disconnected (${s.reason})`);
      else status.set(s.state, s.state === "live" ? "Live" : s.state === "offline" ? "Offline — reconnecting…" : "Connecting…");
      saved.set(s.saved ? "saved" : "saving", s.saved ? "Saved" : "Saving…");
    });
    document.title = `${session.document.title || "Sections"} · Lattice`;
    // A handle for the console and the end-to-end tests.
    (window as unknown as { lattice?: unknown }).lattice = { client: session.client };
    window.addEventListener("pagehide", () => session.destroy());
  } catch (err) {
    if (err instanceof DevModeOff) root.querySelector("main")?.replaceWith(h("main", { class: "home" }, devModeNotice()));
    else status.set("offline", `Could not open the document: ${String(err)}`);
  }
}

// ---------------------------------------------------------------- routing

const match = /^\/d\/([^/]+)\/?$/.exec(location.pathname);
const sectionsMatch = /^\/s\/([^/]+)\/?$/.exec(location.pathname);
if (sectionsMatch) {
  void sectionsPage(decodeURIComponent(sectionsMatch[1] as string));
} else if (match) {
  const docId = decodeURIComponent(match[1] as string);
  const access: Access = new URLSearchParams(location.search).get("access") === "read" ? "read" : "write";
  void documentPage(docId, access);
} else {
  void home();
}
