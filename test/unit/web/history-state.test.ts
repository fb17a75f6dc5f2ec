/** The demo's History panel state (web/history-state.ts): its transitions and what the panel derives from it. */
import { describe, expect, it } from "vitest";
import type { Version } from "../../../web/api";
import * as S from "../../../web/history-state";

const v = (id: string, over: Partial<Version> = {}): Version => ({
  id,
  name: null,
  kind: "auto",
  createdAt: "2026-12-07T10:00:00.000Z",
  createdBy: null,
  sizeBytes: 1,
  ...over,
});

describe("history state", () => {
  it("the first page replaces the list; an older page is appended without the versions already listed", () => {
    let s = S.firstPageLoaded(S.initialState(), { data: [v("c"), v("b")], nextCursor: "k" });
    expect(s.versions.map((x) => x.id)).toEqual(["c", "b"]);
    s = S.olderPageLoaded(s, { data: [v("b"), v("a")], nextCursor: null });
    expect(s.versions.map((x) => x.id)).toEqual(["c", "b", "a"]);
    expect(s.nextCursor).toBeNull();
  });

  it("says none, checking, current (newest or not) and edited", () => {
    expect(S.currentStatus(S.initialState()).state).toBe("none");
    let s = S.firstPageLoaded(S.initialState(), { data: [v("b"), v("a")], nextCursor: null });
    expect(S.currentStatus(s).state).toBe("checking");
    expect(S.currentStatus(S.compared(s, "b"))).toMatchObject({ state: "current", newest: true });
    expect(S.currentStatus(S.compared(s, "a"))).toMatchObject({ state: "current", newest: false, version: { id: "a" } });
    expect(S.currentStatus(S.compared(s, null))).toMatchObject({ state: "edited", since: { id: "b" } });
    s = S.becameUnavailable(S.selectedVersion(s, "a"));
    expect(S.currentStatus(s).state).toBe("unavailable");
    expect(s.selected).toBeUndefined();
  });

  it("compares only the newest COMPARED versions, and plain text only", () => {
    const many = Array.from({ length: 15 }, (_, i) => v(`v${i}`));
    expect(S.candidates(S.firstPageLoaded(S.initialState(), { data: many, nextCursor: null }))).toHaveLength(S.COMPARED);
    expect(S.textOf({ t: "x" }, "t")).toBe("x");
    expect(S.textOf({}, "t")).toBe("");
    expect(S.textOf({ t: [{ insert: "x" }] }, "t")).toBeUndefined();
    expect(S.isLiveText(undefined, "")).toBe(false);
    expect(S.isLiveText("x", "x")).toBe(true);
  });

  it("labels, list keys and latest-wins tickets", () => {
    expect(S.versionLabel(v("a", { name: "Draft" }))).toBe("Draft");
    expect(S.versionLabel(v("a", { kind: "before-restore" }))).toBe("Before restore");
    expect(S.versionLabel(v("a"))).toBe("Automatic version");
    const s = S.firstPageLoaded(S.initialState(), { data: [v("a")], nextCursor: null });
    expect(S.listKey(s, () => "now")).toBe(S.listKey(s, () => "now"));
    expect(S.listKey(s, () => "now")).not.toBe(S.listKey(s, () => "1 min ago"));
    const runs = S.latestWins();
    const first = runs.start();
    const second = runs.start();
    expect(runs.isLatest(first)).toBe(false);
    expect(runs.isLatest(second)).toBe(true);
  });
});
