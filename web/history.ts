/**
 * The History panel (issue 15): save a version, list the document's versions (named and automatic), say
 * which one the live text matches, preview one read-only and restore it. It talks to the REST API with the
 * page's own client token; a restore reaches every open page, this one included, as an ordinary edit over
 * the WebSocket, so the panel never touches the editor. Its state and what is derived from it live in
 * ./history-state (pure); this file renders them and wires the REST calls and the buttons.
 */
import { ApiError, type Access, type DocApi, type Version, type VersionPage } from "./api";
import { h, relativeTime } from "./dom";
import { TEXT_NAME } from "./editor";
import * as S from "./history-state";
import { KIND_LABEL, PAGE, versionLabel } from "./history-state";

export { versionLabel };

export interface HistoryHost {
  api: DocApi;
  access: Access;
  /** The live text of the demo's root. */
  liveText(): string;
  /** Calls `fn` after every change of the live text; returns the unsubscribe function. */
  onLiveChange(fn: () => void): () => void;
  /** Resolves once every local edit is durable on the server. */
  whenSaved(): Promise<void>;
}

const REFRESH_MS = 15_000;
/** A version or restore waits this long for the page's own edits to reach the server first. */
const SAVE_WAIT_MS = 10_000;

function timeEl(iso: string): HTMLElement {
  const date = new Date(iso);
  return h("time", { datetime: iso, title: Number.isNaN(date.getTime()) ? iso : date.toLocaleString() }, relativeTime(iso));
}

const textOf = (json: Record<string, unknown>) => S.textOf(json, TEXT_NAME);

function describe(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.status}${err.code ? ` ${err.code}` : ""})`;
  return err instanceof Error ? err.message : String(err);
}

export interface HistoryPanel {
  el: HTMLElement;
  attach(host: HistoryHost): void;
  destroy(): void;
}

export function historyPanel(): HistoryPanel {
  const refreshButton = h("button", { type: "button", class: "icon", "aria-label": "Refresh history", title: "Refresh", "data-testid": "history-refresh" }, "↻");
  const nameInput = h("input", {
    type: "text",
    maxlength: "200",
    placeholder: "Optional name",
    "aria-label": "Version name (optional)",
    "data-testid": "version-name",
  });
  const saveButton = h("button", { type: "submit", "data-testid": "save-version" }, "Save version");
  const form = h("form", { class: "save-version", "aria-label": "Save a version" }, nameInput, saveButton);
  const current = h("p", { class: "history-current", role: "status", "aria-live": "polite", "data-testid": "history-current" });
  const message = h("p", { class: "history-message", role: "status", "aria-live": "polite", "data-testid": "history-message", hidden: true });
  const error = h("p", { class: "error", role: "alert", "data-testid": "history-error", hidden: true });
  const list = h("ul", { class: "versions", "aria-label": "Versions, newest first", "data-testid": "version-list" }, h("li", { class: "muted" }, "Loading…"));
  const more = h("button", { type: "button", class: "more", "data-testid": "history-more", hidden: true }, "Show older");
  const preview = h("div", { class: "version-preview", role: "region", "data-testid": "version-preview", hidden: true });
  const el = h(
    "section",
    { class: "history", "aria-labelledby": "history-heading", "data-testid": "history" },
    h("div", { class: "history-head" }, h("h2", { id: "history-heading" }, "History"), refreshButton),
    form,
    current,
    message,
    error,
    list,
    more,
    preview,
  );

  let host: HistoryHost | undefined;
  let state = S.initialState();
  /** What the list shows, so a refresh that changes nothing leaves the buttons (and focus, and a click) alone. */
  let shown = "";
  let timer: ReturnType<typeof setInterval> | undefined;
  let unsubscribe: (() => void) | undefined;
  let liveTimer: ReturnType<typeof setTimeout> | undefined;
  // Versions never change content, so a rendering fetched once serves every later comparison and preview.
  const renderings = new Map<string, Promise<Record<string, unknown>>>();

  /** `from` marks an error the next successful list clears by itself. */
  const showError = (err: unknown, what: string, from = "") => {
    error.textContent = `${what}: ${describe(err)}`;
    error.dataset.from = from;
    error.hidden = false;
  };
  const clearError = () => {
    error.hidden = true;
    error.textContent = "";
  };
  const say = (text: string) => {
    message.textContent = text;
    message.hidden = !text;
  };

  const rendering = (id: string): Promise<Record<string, unknown>> => {
    let p = renderings.get(id);
    if (!p) {
      p = host!.api.versionJson(id);
      renderings.set(id, p);
      p.catch(() => renderings.delete(id)); // a failed fetch is tried again next time
    }
    return p;
  };

  // ---- rendering ----

  function renderCurrent(): void {
    const status = S.currentStatus(state);
    if (status.state === "unavailable") return;
    if (status.state === "none") {
      current.textContent = "No versions yet. Save one to mark this point.";
    } else if (status.state === "checking") {
      current.textContent = "Comparing with the live document…";
    } else if (status.state === "current") {
      const v = status.version;
      current.replaceChildren("Current: ", h("strong", {}, versionLabel(v)), " (", timeEl(v.createdAt), status.newest ? ")" : "), not the newest");
    } else {
      current.replaceChildren("Edited since ", h("strong", {}, versionLabel(status.since)), " (", timeEl(status.since.createdAt), ")");
    }
    current.dataset.state = status.state;
    for (const item of list.querySelectorAll<HTMLElement>("[data-version-id]")) {
      const isCurrent = item.dataset.versionId === state.currentId;
      item.dataset.current = String(isCurrent);
      item.querySelector(".current-tag")?.toggleAttribute("hidden", !isCurrent);
    }
  }

  function renderList(): void {
    const { versions, selected } = state;
    if (state.unavailable) {
      shown = "";
      list.replaceChildren(h("li", { class: "muted", "data-testid": "history-unavailable" }, "History is unavailable on this server."));
      current.textContent = "";
      more.hidden = true;
      form.hidden = true;
      return;
    }
    form.hidden = host?.access !== "write";
    more.hidden = !state.nextCursor;
    const key = S.listKey(state, relativeTime);
    if (key === shown) return renderCurrent();
    shown = key;
    const focused = (document.activeElement as HTMLElement | null)?.dataset?.versionId;
    // No versions: the status line above says so (one empty state, not two); the list stays out of sight.
    list.hidden = versions.length === 0;
    if (versions.length === 0) {
      list.replaceChildren();
    } else {
      list.replaceChildren(
        ...versions.map((v) => {
          const button = h(
            "button",
            {
              type: "button",
              class: "version",
              "data-testid": "version-item",
              "data-version-id": v.id,
              "data-kind": v.kind,
              "aria-pressed": String(v.id === selected),
            },
            h("span", { class: "version-name" }, versionLabel(v)),
            h("span", { class: "version-meta" }, h("span", { class: `kind kind-${v.kind}` }, KIND_LABEL[v.kind]), " · ", timeEl(v.createdAt)),
            h("span", { class: "tag current-tag", hidden: true }, "current"),
          );
          button.addEventListener("click", () => void select(v.id));
          return h("li", {}, button);
        }),
      );
      if (focused) list.querySelector<HTMLElement>(`[data-version-id="${CSS.escape(focused)}"]`)?.focus();
    }
    renderCurrent();
  }

  /** Finds the newest version whose text equals the live text; re-run when either side changes. */
  const compareRun = S.latestWins();
  async function compare(): Promise<void> {
    if (!host) return;
    const run = compareRun.start();
    let found: string | null = null;
    try {
      // One at a time, newest first, stopping at the first match: most often the newest is the one.
      for (const v of S.candidates(state)) {
        const text = textOf(await rendering(v.id));
        if (!compareRun.isLatest(run)) return;
        if (S.isLiveText(text, host.liveText())) {
          found = v.id;
          break;
        }
      }
    } catch (err) {
      if (compareRun.isLatest(run)) showError(err, "Could not read a version");
      return;
    }
    if (!compareRun.isLatest(run)) return;
    state = S.compared(state, found);
    renderCurrent();
  }

  /** Reloads the first page. Every call asks the server (a save must see its own version); a late answer is dropped. */
  const listRun = S.latestWins();
  async function refresh(): Promise<void> {
    if (!host) return;
    const run = listRun.start();
    let page: VersionPage;
    try {
      page = await host.api.listVersions({ limit: PAGE });
    } catch (err) {
      if (!listRun.isLatest(run)) return;
      if (err instanceof ApiError && err.status === 404) {
        state = S.becameUnavailable(state);
        hidePreview();
        renderList();
        return;
      }
      showError(err, "Could not load the history", "list");
      return;
    }
    if (!listRun.isLatest(run)) return;
    state = S.firstPageLoaded(state, page);
    if (error.dataset.from === "list") clearError();
    renderList();
    await compare();
  }

  async function loadMore(): Promise<void> {
    if (!host || !state.nextCursor) return;
    more.disabled = true;
    try {
      const page = await host.api.listVersions({ limit: PAGE, cursor: state.nextCursor });
      state = S.olderPageLoaded(state, page);
      renderList();
    } catch (err) {
      showError(err, "Could not load older versions");
    } finally {
      more.disabled = false;
    }
  }

  /** Waits until this page's edits are on the server, so a version or a restore sees what the user sees. */
  async function settled(): Promise<void> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        host!.whenSaved(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error("your latest edits have not reached the server yet; try again once the page says Saved")), SAVE_WAIT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timeout);
    }
  }

  // ---- preview, restore, rename ----

  function hidePreview(): void {
    state = S.selectedVersion(state, undefined);
    preview.hidden = true;
    preview.replaceChildren();
    for (const b of list.querySelectorAll("[aria-pressed]")) b.setAttribute("aria-pressed", "false");
  }

  async function select(id: string): Promise<void> {
    const v = S.findVersion(state, id);
    if (!v || !host) return;
    state = S.selectedVersion(state, id);
    for (const b of list.querySelectorAll<HTMLElement>("[data-version-id]")) b.setAttribute("aria-pressed", String(b.dataset.versionId === id));
    const label = versionLabel(v);
    const text = h("pre", { class: "preview-text", tabindex: "0", "aria-label": `Text of ${label} (read-only)`, "data-testid": "version-preview-text" }, "Loading…");
    const json = h("pre", { class: "preview-json", tabindex: "0", "aria-label": `JSON of ${label} (read-only)`, "data-testid": "version-preview-json" });
    const close = h("button", { type: "button", class: "icon", "aria-label": "Close the preview", "data-testid": "version-preview-close" }, "×");
    close.addEventListener("click", hidePreview);
    preview.setAttribute("aria-label", `Preview of ${label}`);
    preview.replaceChildren(
      h(
        "div",
        { class: "preview-head" },
        h(
          "div",
          {},
          h("strong", { "data-testid": "version-preview-name" }, label),
          h("div", { class: "version-meta" }, KIND_LABEL[v.kind], " · ", timeEl(v.createdAt)),
        ),
        close,
      ),
      h("p", { class: "preview-note" }, "Read-only preview"),
      text,
      h("details", {}, h("summary", {}, "JSON"), json),
      ...(host.access === "write" ? [restoreControls(v), renameControls(v)] : []),
    );
    preview.hidden = false;
    try {
      const body = await rendering(id);
      if (state.selected !== id) return;
      const t = textOf(body);
      text.textContent = t === undefined ? "(formatted text: see the JSON)" : t || "(empty)";
      text.classList.toggle("empty", !t);
      json.textContent = JSON.stringify(body, null, 2);
    } catch (err) {
      if (state.selected !== id) return;
      text.textContent = "";
      showError(err, `Could not load ${label}`);
    }
  }

  function restoreControls(v: Version): HTMLElement {
    const restore = h("button", { type: "button", class: "primary", "data-testid": "version-restore" }, "Restore this version");
    const yes = h("button", { type: "button", class: "primary danger", "data-testid": "version-restore-yes" }, "Restore");
    const no = h("button", { type: "button", "data-testid": "version-restore-cancel" }, "Cancel");
    const confirm = h(
      "div",
      { class: "confirm", role: "group", "aria-label": "Confirm the restore", "data-testid": "version-restore-confirm", hidden: true },
      h("p", {}, "Replace the document's content with this version for everyone? The current content is kept as a before-restore version."),
      h("div", { class: "row" }, yes, no),
    );
    restore.addEventListener("click", () => {
      restore.hidden = true;
      confirm.hidden = false;
      yes.focus();
    });
    no.addEventListener("click", () => {
      confirm.hidden = true;
      restore.hidden = false;
      restore.focus();
    });
    yes.addEventListener("click", () => {
      if (state.busy) return;
      state = S.setBusy(state, true);
      yes.disabled = no.disabled = true;
      clearError();
      say("Restoring…");
      void (async () => {
        try {
          await settled();
          await host!.api.restoreVersion(v.id);
          say(`Restored “${versionLabel(v)}”. The content before it is kept as “Before restore”.`);
          confirm.hidden = true;
          restore.hidden = false;
          await refresh();
        } catch (err) {
          say("");
          showError(err, "Could not restore");
        } finally {
          state = S.setBusy(state, false);
          yes.disabled = no.disabled = false;
        }
      })();
    });
    return h("div", { class: "preview-actions" }, restore, confirm);
  }

  function renameControls(v: Version): HTMLElement {
    const input = h("input", {
      type: "text",
      maxlength: "200",
      value: v.name ?? "",
      "aria-label": "New name for this version",
      "data-testid": "version-rename-input",
    });
    const button = h("button", { type: "submit", "data-testid": "version-rename" }, "Rename");
    const form = h("form", { class: "rename" }, input, button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      button.disabled = true;
      clearError();
      void host!.api
        .renameVersion(v.id, name)
        .then(async () => {
          say(`Renamed to “${name}”.`);
          await refresh();
          if (state.selected === v.id) await select(v.id);
        })
        .catch((err: unknown) => showError(err, "Could not rename"))
        .finally(() => (button.disabled = false));
    });
    return h("details", { class: "rename-box" }, h("summary", {}, "Rename"), form);
  }

  // ---- wiring ----

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!host || state.busy) return;
    state = S.setBusy(state, true);
    saveButton.disabled = true;
    clearError();
    const name = nameInput.value.trim() || undefined;
    say("Saving a version…");
    void (async () => {
      try {
        await settled();
        const v = await host!.api.createVersion(name);
        nameInput.value = "";
        say(`Saved “${versionLabel(v)}”.`);
        await refresh();
      } catch (err) {
        say("");
        showError(err, "Could not save a version");
      } finally {
        state = S.setBusy(state, false);
        saveButton.disabled = false;
      }
    })();
  });
  refreshButton.addEventListener("click", () => void refresh());
  more.addEventListener("click", () => void loadMore());

  return {
    el,
    attach(h0) {
      host = h0;
      form.hidden = h0.access !== "write";
      unsubscribe = h0.onLiveChange(() => {
        clearTimeout(liveTimer);
        liveTimer = setTimeout(() => void compare(), 250);
      });
      // Automatic versions appear on their own; times read "3 min ago".
      timer = setInterval(() => {
        if (document.visibilityState === "visible") void refresh();
      }, REFRESH_MS);
      void refresh();
    },
    destroy() {
      clearInterval(timer);
      clearTimeout(liveTimer);
      unsubscribe?.();
      host = undefined;
    },
  };
}
