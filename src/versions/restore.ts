/**
 * Restoring a version as a forward edit: new Yjs operations that make a document's content equal a
 * version's, never a rewrite of history, so live clients receive the restore as an ordinary update.
 *
 * Pure (only `yjs`). The edit is computed on a scratch copy of the document:
 * the live doc's roots are never typed (`doc.getText(name)` is permanent for a Y.Doc, and renderRoots
 * depends on it), and nothing is applied until the whole edit is known, as one update.
 *
 * Method, per kind (the smallest edit where that is easy, replacing content elsewhere):
 * - text (Y.Text, Y.XmlText): a diff of the two deltas by common prefix and common suffix, compared
 *   character by character with their formatting attributes, embeds and embedded types deep-equal;
 *   only the middle is deleted and the version's middle inserted with its exact attributes. A boundary
 *   never splits a surrogate pair (Yjs would turn both halves into U+FFFD). The text's own attributes
 *   (`setAttribute`) are set like a map's entries.
 * - map (Y.Map, Y.XmlHook) and XML element attributes: per key. A key the version lacks is deleted; a
 *   deep-equal value is kept; a shared type of the same shape on both sides is restored in place
 *   (recursively, so a concurrent edit deeper inside survives); any other value is replaced.
 * - list (Y.Array, Y.XmlFragment, Y.XmlElement children): common prefix and suffix of deep-equal
 *   elements are kept; in the middle, elements at the same position that are shared types of the same
 *   shape (same class; same nodeName for elements) are restored in place, the others replaced, and the
 *   longer side's remainder deleted or inserted.
 * - a root the version lacks (or holds empty) is emptied; a root whose content is of another kind than
 *   the version's is emptied and refilled. An empty root cannot exist in an update, so a root "created
 *   empty" is nothing: its kind is what a reader asks for (renderRoots's `kinds`).
 * - a list root's map entries and a map root's list items (only a hand-made update has both) are deleted;
 *   text content Yjs's Y.Text cannot address (ContentAny/JSON/Binary inside a text) is deleted too.
 *
 * This file walks the roots and edits them; what it reads, compares and copies is restore-values.ts's,
 * and the text diff's prefix, suffix and format clean-up are restore-delta.ts's.
 */
import * as Y from "yjs";
import { commonRun, dropRedundantFormats, sliceOps } from "./restore-delta";
import { type Attrs, cloneAttrs, cloneValue, deltaOf, entriesOf, equalValue, keepFinalNewline, opLength, shapeOf, valuesOf } from "./restore-values";

/**
 * The update that makes `current`'s content equal `version`'s, as a forward edit (see above). Neither
 * doc is modified or has a root typed. Applying the update to `current` (or to any replica of it, with
 * concurrent edits merged as usual) restores the version. Nothing to change gives an update with no
 * structs (still a valid update).
 */
export function restoreUpdate(current: Y.Doc, version: Y.Doc, options: RestoreOptions = {}): Uint8Array {
  const scratch = new Y.Doc({ gc: current.gc });
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(current));
  return restoreOnCopy(scratch, version, options);
}

/**
 * restoreUpdate on a copy of the current content that the caller made and no longer needs: the copy is
 * edited (its roots typed) and destroyed. For a caller that can drop the live document while the copy
 * exists, a restore then holds two documents at once (the copy and the version), never three.
 */
export function restoreOnCopy(copy: Y.Doc, version: Y.Doc, options: RestoreOptions = {}): Uint8Array {
  const wanted = options.clientId;
  copy.clientID = wanted !== undefined && !copy.store.clients.has(wanted) && !version.store.clients.has(wanted) ? wanted : freshClientId(copy, version);
  // The transaction's own update: its new items and its deletions only (a state diff would carry the
  // whole delete set of the document's history to every client).
  const updates: Uint8Array[] = [];
  copy.on("update", (u: Uint8Array) => updates.push(u));
  try {
    copy.transact(() => {
      for (const name of new Set([...copy.share.keys(), ...version.share.keys()])) {
        restoreRoot(copy, name, version.share.get(name));
      }
    });
  } finally {
    copy.destroy();
  }
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
}

/**
 * `clientId`: the Yjs client id the restore's operations are written with, when neither doc has used it
 * (otherwise a fresh random one). Concurrent inserts at one position are ordered by client id, so a test
 * that fixes it replays exactly.
 */
export type RestoreOptions = { clientId?: number };

/** Restores `version` into `doc` (restoreUpdate, then applied with `origin`); returns the update applied. */
export function restoreInto(doc: Y.Doc, version: Y.Doc, origin?: unknown, options: RestoreOptions = {}): Uint8Array {
  const update = restoreUpdate(doc, version, options);
  Y.applyUpdate(doc, update, origin);
  return update;
}

/** A client id neither doc has used: the restore's operations must never collide with a client's. */
function freshClientId(a: Y.Doc, b: Y.Doc): number {
  for (;;) {
    const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
    if (id !== 0 && !a.store.clients.has(id) && !b.store.clients.has(id)) return id;
  }
}

/**
 * How a root's items are stored: text (strings, formats, embeds), list (elements: an array's or an XML
 * fragment's, written the same way), map (keys), or undefined when it holds nothing. Read from every
 * item, not the first as to-json's kindShownByContent does, so a text that starts with an embedded type
 * is still a text. Y.Array and Y.XmlFragment insert elements alike, so one list class serves both.
 */
type Stored = "text" | "list" | "map";

function storedKind(type: Y.AbstractType<any>): Stored | undefined {
  if (type instanceof Y.Text) return "text";
  if (type instanceof Y.Map) return "map";
  let list = false;
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const c = item.content;
    if (c instanceof Y.ContentString || c instanceof Y.ContentFormat || c instanceof Y.ContentEmbed) return "text";
    if (item.countable) list = true;
  }
  if (list || type instanceof Y.Array || type instanceof Y.XmlFragment) return list ? "list" : undefined;
  for (const item of type._map.values()) if (!item.deleted) return "map";
  return undefined;
}

const ROOT_CLASS = { text: Y.Text, map: Y.Map, list: Y.Array } as const;

function restoreRoot(scratch: Y.Doc, name: string, source: Y.AbstractType<any> | undefined): void {
  const want = source && storedKind(source);
  const existing = scratch.share.get(name);
  if (existing) {
    const have = storedKind(existing);
    const tr = scratch._transaction!;
    if (!want || (have && have !== want)) {
      deleteItems(existing, tr, true, true);
      if (!want) return;
    }
    // The other side of a root the version does not use (a Y.Text's attributes are its own, kept).
    if (want === "map") deleteItems(existing, tr, false, true);
    else if (want === "list") deleteItems(existing, tr, true, false);
  }
  if (!want || !source) return;
  const target = scratch.get(name, ROOT_CLASS[want] as unknown as typeof Y.AbstractType<any>);
  if (want === "text") restoreText(target as Y.Text, source);
  else if (want === "map") restoreMap(mapTarget(target), entriesOf(source));
  else restoreList(target as ListTarget, valuesOf(source));
}

/** Deletes a type's items directly: works whatever the type's class, typed or not. */
function deleteItems(type: Y.AbstractType<any>, tr: Y.Transaction, map: boolean, list: boolean): void {
  if (list) for (let item = type._start; item !== null; item = item.right) if (!item.deleted) item.delete(tr);
  if (map) for (const item of type._map.values()) if (!item.deleted) item.delete(tr);
}

// ---- text ----

function restoreText(target: Y.Text, source: Y.AbstractType<any>): void {
  // Content a Y.Text cannot index (only a hand-made update puts it there) would shift every index below.
  const tr = target.doc!._transaction!;
  for (let item = target._start; item !== null; item = item.right) {
    const c = item.content;
    if (!item.deleted && !(c instanceof Y.ContentString || c instanceof Y.ContentEmbed || c instanceof Y.ContentType || c instanceof Y.ContentFormat)) {
      item.delete(tr);
    }
  }
  const have = deltaOf(target);
  const want = deltaOf(source);
  const haveLen = have.reduce((n, op) => n + opLength(op), 0);
  const wantLen = want.reduce((n, op) => n + opLength(op), 0);
  let prefix = commonRun(have, want, false, Math.min(haveLen, wantLen));
  if (prefix.lastChar >= 0xd800 && prefix.lastChar <= 0xdbff) prefix = { length: prefix.length - 1, lastChar: -1 };
  let suffix = commonRun(have, want, true, Math.min(haveLen, wantLen) - prefix.length);
  if (suffix.lastChar >= 0xdc00 && suffix.lastChar <= 0xdfff) suffix = { length: suffix.length - 1, lastChar: -1 };
  const p = prefix.length;
  const s = suffix.length;
  // One applyDelta: a single pass from the start that knows the formatting in force at every position.
  // (Y.Text.delete finds its position through a search marker that leaves it unknown; its cleanup then
  // deletes the format item ending a run right after the deleted text, and the formatting spreads: Yjs 13.6.)
  // Explicit attributes, {} included: without them Yjs would inherit the formatting on the left.
  const delta: { retain?: number; delete?: number; insert?: unknown; attributes?: Attrs }[] = [];
  if (p > 0) delta.push({ retain: p });
  if (haveLen - p - s > 0) delta.push({ delete: haveLen - p - s });
  for (const op of sliceOps(want, p, wantLen - s)) {
    delta.push({ insert: typeof op.insert === "string" ? op.insert : cloneValue(op.insert), attributes: cloneAttrs(op.attributes) });
  }
  if (delta.some((op) => op.retain === undefined)) target.applyDelta(keepFinalNewline(delta));
  if (haveLen - p - s > 0 || wantLen - p - s > 0) dropRedundantFormats(target, tr);
  restoreMap(mapTarget(target), entriesOf(source));
}

// ---- maps ----

/** What restoreMap writes through: a Y.Map's entries, or a text's or an element's attributes. */
type MapTarget = { type: Y.AbstractType<any>; set(key: string, value: unknown): void; remove(key: string): void };

function mapTarget(type: Y.AbstractType<any>): MapTarget {
  if (type instanceof Y.Map) return { type, set: (k, v) => type.set(k, v), remove: (k) => type.delete(k) };
  if (type instanceof Y.XmlElement) return { type, set: (k, v) => type.setAttribute(k, v as string), remove: (k) => type.removeAttribute(k) };
  if (type instanceof Y.Text) return { type, set: (k, v) => type.setAttribute(k, v), remove: (k) => type.removeAttribute(k) };
  throw new TypeError("not a map-like type");
}

function restoreMap(target: MapTarget, want: Map<string, unknown>): void {
  const have = entriesOf(target.type);
  for (const key of have.keys()) if (!want.has(key)) target.remove(key);
  for (const [key, value] of want) {
    const old = have.get(key);
    if (have.has(key) && (restoreInPlace(old, value) || equalValue(old, value))) continue;
    target.set(key, cloneValue(value));
  }
}

// ---- lists ----

type ListTarget = Y.AbstractType<any> & { insert(index: number, content: unknown[]): void; delete(index: number, length: number): void };

function restoreList(target: ListTarget, want: unknown[]): void {
  const have = valuesOf(target);
  const min = Math.min(have.length, want.length);
  let p = 0;
  while (p < min && equalValue(have[p], want[p])) p++;
  let s = 0;
  while (s < min - p && equalValue(have[have.length - 1 - s], want[want.length - 1 - s])) s++;
  const haveMid = have.length - p - s;
  const wantMid = want.length - p - s;
  const paired = Math.min(haveMid, wantMid);
  // Right to left, so every index below the one being edited stays valid.
  if (haveMid > paired) target.delete(p + paired, haveMid - paired);
  if (wantMid > paired) target.insert(p + paired, want.slice(p + paired, p + wantMid).map(cloneValue));
  let end = p + paired; // positions [k, end) are a pending run to replace
  for (let k = p + paired - 1; k >= p - 1; k--) {
    if (k >= p && !(equalValue(have[k], want[k]) || restoreInPlace(have[k], want[k]))) continue;
    if (end > k + 1) {
      target.delete(k + 1, end - (k + 1));
      target.insert(k + 1, want.slice(k + 1, end).map(cloneValue));
    }
    end = k;
  }
}

// ---- shared types: in-place restore ----

/** Makes shared type `target` equal `source` in place when their shapes match; false otherwise. */
function restoreInPlace(target: unknown, source: unknown): boolean {
  const shape = shapeOf(target);
  if (shape === undefined || shape !== shapeOf(source)) return false;
  const t = target as Y.AbstractType<any>;
  const src = source as Y.AbstractType<any>;
  if (t instanceof Y.Text) restoreText(t, src);
  else if (t instanceof Y.Map) restoreMap(mapTarget(t), entriesOf(src));
  else {
    if (t instanceof Y.XmlElement) restoreMap(mapTarget(t), entriesOf(src));
    restoreList(t as ListTarget, valuesOf(src));
  }
  return true;
}
