/**
 * The History panel's state (web/history.ts renders it): the versions listed, which one is previewed, which
 * one the live text matches, and whether the server has versions at all. Pure: no DOM, no fetch. Each
 * transition takes a state and returns the next one; what the panel shows is derived from it here too.
 */
import type { Version, VersionPage } from "./api";

/** Versions asked for per page. */
export const PAGE = 20;
/** How many of the newest versions are compared with the live text to find the current one. */
export const COMPARED = 10;

export const KIND_LABEL: Record<Version["kind"], string> = { named: "named", auto: "automatic", "before-restore": "before restore" };

export interface HistoryState {
  /** Newest first, as the server lists them; older pages appended. */
  versions: Version[];
  nextCursor: string | null;
  /** The version being previewed. */
  selected: string | undefined;
  /** The newest version whose text equals the live text, among the first COMPARED; null when none does; undefined until compared. */
  currentId: string | null | undefined;
  /** The server has no version routes (404). */
  unavailable: boolean;
  /** A save or a restore is under way. */
  busy: boolean;
}

export const initialState = (): HistoryState => ({
  versions: [],
  nextCursor: null,
  selected: undefined,
  currentId: undefined,
  unavailable: false,
  busy: false,
});

/** The first page arrived: it replaces the list (what was compared stays until the next comparison). */
export const firstPageLoaded = (s: HistoryState, page: VersionPage): HistoryState => ({
  ...s,
  unavailable: false,
  versions: page.data,
  nextCursor: page.nextCursor,
});

/** An older page arrived: appended, without the versions already listed (the list may have moved meanwhile). */
export function olderPageLoaded(s: HistoryState, page: VersionPage): HistoryState {
  const known = new Set(s.versions.map((v) => v.id));
  return { ...s, versions: s.versions.concat(page.data.filter((v) => !known.has(v.id))), nextCursor: page.nextCursor };
}

/** The server answered 404 for the list: no history here, and nothing previewed. */
export const becameUnavailable = (s: HistoryState): HistoryState => ({ ...s, unavailable: true, selected: undefined });

export const compared = (s: HistoryState, currentId: string | null): HistoryState => ({ ...s, currentId });

export const selectedVersion = (s: HistoryState, id: string | undefined): HistoryState => ({ ...s, selected: id });

export const setBusy = (s: HistoryState, busy: boolean): HistoryState => ({ ...s, busy });

// ---- derived ----

export const findVersion = (s: HistoryState, id: string): Version | undefined => s.versions.find((v) => v.id === id);

/** The versions compared with the live text, newest first. */
export const candidates = (s: HistoryState): Version[] => s.versions.slice(0, COMPARED);

/** A version's text (undefined: not plain text, never equal) is the live text. */
export const isLiveText = (text: string | undefined, live: string): boolean => text !== undefined && text === live;

export type CurrentStatus =
  | { state: "unavailable" }
  | { state: "none" }
  | { state: "checking" }
  | { state: "current"; version: Version; newest: boolean }
  | { state: "edited"; since: Version };

/** What the status line says: no versions, still comparing, the live text is a version's, or edited since the newest. */
export function currentStatus(s: HistoryState): CurrentStatus {
  const newest = s.versions[0];
  if (s.unavailable) return { state: "unavailable" };
  if (!newest) return { state: "none" };
  if (s.currentId === undefined) return { state: "checking" };
  if (s.currentId === newest.id) return { state: "current", version: newest, newest: true };
  if (s.currentId) return { state: "current", version: findVersion(s, s.currentId)!, newest: false };
  return { state: "edited", since: newest };
}

/** What the list shows, as a string: a refresh with the same key changes nothing on screen. */
export const listKey = (s: HistoryState, relative: (iso: string) => string): string => JSON.stringify(s.versions.map((v) => [v.id, v.name, relative(v.createdAt)]));

export function versionLabel(v: Version): string {
  if (v.name) return v.name;
  if (v.kind === "before-restore") return "Before restore";
  if (v.kind === "auto") return "Automatic version";
  return "Unnamed version";
}

/** The text root (`name`) of a JSON rendering; undefined when it is not plain text (formatted text renders otherwise). */
export function textOf(json: Record<string, unknown>, name: string): string | undefined {
  const value = json[name];
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : undefined;
}

/**
 * "Latest wins" for overlapping requests: `start()` returns a ticket, `isLatest(ticket)` says whether no
 * later request started since (an answer to an older one is dropped).
 */
export function latestWins() {
  let run = 0;
  return { start: () => ++run, isLatest: (ticket: number) => ticket === run };
}
