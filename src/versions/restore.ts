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
 */
import * as Y from "yjs";

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

// ---- reading content from items (typed or not, so a version's untyped roots read without typing) ----

type Attrs = Record<string, unknown>;
/** A delta op: a string run (maximal for its attributes), an embed, or an embedded shared type. */
type Op = { insert: string | unknown; attributes: Attrs };

function entriesOf(type: Y.AbstractType<any>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, item] of type._map) if (!item.deleted) out.set(key, item.content.getContent()[item.length - 1]);
  return out;
}

function valuesOf(type: Y.AbstractType<any>): unknown[] {
  const out: unknown[] = [];
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    for (const v of item.content.getContent()) out.push(v);
  }
  return out;
}

/** The text's content as Yjs's toDelta reads it, without needing the type to be a Y.Text. */
function deltaOf(type: Y.AbstractType<any>): Op[] {
  const ops: Op[] = [];
  const current = new Map<string, unknown>();
  const attrs = (): Attrs => Object.fromEntries(current);
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const c = item.content;
    if (c instanceof Y.ContentString) {
      const last = ops[ops.length - 1];
      const a = attrs();
      if (last && typeof last.insert === "string" && equalAttrs(last.attributes, a)) last.insert += c.str;
      else ops.push({ insert: c.str, attributes: a });
    } else if (c instanceof Y.ContentEmbed) ops.push({ insert: c.embed, attributes: attrs() });
    else if (c instanceof Y.ContentType) ops.push({ insert: c.type, attributes: attrs() });
    else if (c instanceof Y.ContentFormat) {
      if (c.value === null) current.delete(c.key);
      else current.set(c.key, c.value);
    }
  }
  return ops;
}

const opLength = (op: Op): number => (typeof op.insert === "string" ? op.insert.length : 1);

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

/**
 * applyDelta drops the final "\n" of a last insert that ends the text (a Quill convention), and which
 * `sanitize` value turns that off differs between Yjs releases (13.6.33 strips when it is false, and a
 * preliminary text ignores the option). A final empty retain is never that last insert, and does nothing.
 */
function keepFinalNewline<T extends object>(delta: T[]): (T | { retain: number })[] {
  return [...delta, { retain: 0 }];
}

/**
 * Deletes format items that change nothing: in a gap between two pieces of content, all but the last
 * item of each key, and that one too when its value is already in force. Yjs leaves such items where
 * its own cleanup compares with === (an object value like `{href}` never equals an equal one) and where
 * an insert meets the format items a deletion left; the delta is the same either way, but the XML
 * rendering would show the text split into identical tags there.
 */
function dropRedundantFormats(text: Y.Text, tr: Y.Transaction): void {
  const current = new Map<string, unknown>();
  let gap: Y.Item[] = [];
  const closeGap = () => {
    const last = new Map<string, Y.Item>();
    for (const item of gap) last.set((item.content as Y.ContentFormat).key, item);
    for (const item of gap) {
      const { key, value } = item.content as Y.ContentFormat;
      if (last.get(key) !== item || equalValue(current.get(key) ?? null, value)) item.delete(tr);
      else if (value === null) current.delete(key);
      else current.set(key, value);
    }
    gap = [];
  };
  for (let item = text._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    if (item.content instanceof Y.ContentFormat) gap.push(item);
    else closeGap();
  }
  closeGap();
}

/**
 * How many leading (or trailing, `fromEnd`) positions of two deltas are equal, at most `max`, and the
 * char code of the last position matched (-1 when it was an embed or nothing matched).
 */
function commonRun(a: Op[], b: Op[], fromEnd: boolean, max: number): { length: number; lastChar: number } {
  let ia = fromEnd ? a.length - 1 : 0;
  let ib = fromEnd ? b.length - 1 : 0;
  let oa = 0; // positions already consumed in a[ia], counted from the op's start (or end, fromEnd)
  let ob = 0;
  let n = 0;
  let lastChar = -1;
  const step = fromEnd ? -1 : 1;
  while (n < max && ia >= 0 && ib >= 0 && ia < a.length && ib < b.length) {
    const x = a[ia]!;
    const y = b[ib]!;
    if (!equalAttrs(x.attributes, y.attributes)) break;
    if (typeof x.insert === "string" && typeof y.insert === "string") {
      const xs = x.insert;
      const ys = y.insert;
      while (n < max && oa < xs.length && ob < ys.length) {
        const cx = xs.charCodeAt(fromEnd ? xs.length - 1 - oa : oa);
        if (cx !== ys.charCodeAt(fromEnd ? ys.length - 1 - ob : ob)) return { length: n, lastChar };
        lastChar = cx;
        oa++;
        ob++;
        n++;
      }
      if (oa < xs.length && ob < ys.length) break; // stopped by max
      if (oa === xs.length) {
        ia += step;
        oa = 0;
      }
      if (ob === ys.length) {
        ib += step;
        ob = 0;
      }
      continue;
    }
    if (typeof x.insert === "string" || typeof y.insert === "string" || !equalValue(x.insert, y.insert)) break;
    n++;
    lastChar = -1;
    ia += step;
    ib += step;
  }
  return { length: n, lastChar };
}

/** The ops covering positions [from, to) of a delta. */
function sliceOps(ops: Op[], from: number, to: number): Op[] {
  const out: Op[] = [];
  let pos = 0;
  for (const op of ops) {
    const len = opLength(op);
    const start = Math.max(from, pos);
    const end = Math.min(to, pos + len);
    if (start < end) {
      out.push(typeof op.insert === "string" ? { insert: op.insert.slice(start - pos, end - pos), attributes: op.attributes } : op);
    }
    pos += len;
    if (pos >= to) break;
  }
  return out;
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

// ---- shared types: shape, in-place restore, equality, copies ----

/** Two shared types restore into each other only when their shapes match (class, and node or hook name). */
function shapeOf(v: unknown): string | undefined {
  if (v instanceof Y.XmlText) return "xmltext";
  if (v instanceof Y.Text) return "text";
  if (v instanceof Y.XmlElement) return `element:${v.nodeName}`;
  if (v instanceof Y.XmlFragment) return "fragment";
  if (v instanceof Y.XmlHook) return `hook:${v.hookName}`;
  if (v instanceof Y.Map) return "map";
  if (v instanceof Y.Array) return "array";
  return undefined;
}

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

/** Deep equality of stored values: plain values by content, shared types by shape and content, subdocuments by guid. */
export function equalValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Y.Doc || b instanceof Y.Doc) return a instanceof Y.Doc && b instanceof Y.Doc && a.guid === b.guid;
  if (a instanceof Y.AbstractType || b instanceof Y.AbstractType) {
    if (!(a instanceof Y.AbstractType && b instanceof Y.AbstractType)) return false;
    const shape = shapeOf(a);
    if (shape !== shapeOf(b)) return false;
    if (!equalEntries(entriesOf(a), entriesOf(b))) return false;
    if (a instanceof Y.Text) return equalDelta(deltaOf(a), deltaOf(b));
    if (a instanceof Y.Map) return true;
    return equalList(valuesOf(a), valuesOf(b));
  }
  const va = ArrayBuffer.isView(a);
  if (va || ArrayBuffer.isView(b)) {
    if (!va || !ArrayBuffer.isView(b)) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && equalList(a, b);
  return equalEntries(new Map(plainEntries(a)), new Map(plainEntries(b)));
}

function equalList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => equalValue(v, b[i]));
}

function equalEntries(a: Map<string, unknown>, b: Map<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.has(k) || !equalValue(v, b.get(k))) return false;
  return true;
}

function equalAttrs(a: Attrs, b: Attrs): boolean {
  return equalEntries(new Map(Object.entries(a)), new Map(Object.entries(b)));
}

function equalDelta(a: Op[], b: Op[]): boolean {
  return a.length === b.length && a.every((op, i) => equalAttrs(op.attributes, b[i]!.attributes) && equalValue(op.insert, b[i]!.insert));
}

/**
 * An object's entries as written to an update: its own keys, plus `__proto__` when decoding made that
 * key the prototype (lib0 decodes with `obj[key] = value`; see to-json.ts).
 */
function plainEntries(v: object): [string, unknown][] {
  const out: [string, unknown][] = Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]]);
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && !Object.hasOwn(v, "__proto__")) out.push(["__proto__", proto]);
  return out;
}

function cloneAttrs(a: Attrs): Attrs {
  return cloneValue(a) as Attrs;
}

/**
 * A copy of a stored value that can be inserted into another doc: shared types as new (preliminary)
 * types with the same content, subdocuments by guid and options, plain values rebuilt so every key,
 * `__proto__` included, is an own property and encodes as it was decoded.
 */
function cloneValue(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof Y.Doc) return new Y.Doc({ guid: v.guid, gc: v.gc, autoLoad: v.autoLoad, meta: v.meta, shouldLoad: v.shouldLoad });
  if (v instanceof Y.AbstractType) {
    const attrs = [...entriesOf(v)].map(([k, x]) => [k, cloneValue(x)] as const);
    if (v instanceof Y.Text) {
      const t = v instanceof Y.XmlText ? new Y.XmlText() : new Y.Text();
      const delta = deltaOf(v).map((op) => ({ insert: cloneValue(op.insert), attributes: cloneAttrs(op.attributes) }));
      t.applyDelta(keepFinalNewline(delta));
      for (const [k, x] of attrs) t.setAttribute(k, x);
      return t;
    }
    if (v instanceof Y.XmlHook) {
      const h = new Y.XmlHook(v.hookName);
      for (const [k, x] of attrs) h.set(k, x);
      return h;
    }
    if (v instanceof Y.Map) return new Y.Map(attrs);
    const children = valuesOf(v).map(cloneValue);
    if (v instanceof Y.Array) return Y.Array.from(children as never[]);
    const f = v instanceof Y.XmlElement ? new Y.XmlElement(v.nodeName) : new Y.XmlFragment();
    if (f instanceof Y.XmlElement) for (const [k, x] of attrs) f.setAttribute(k, x as string);
    f.insert(0, children as Y.XmlElement[]);
    return f;
  }
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  if (Array.isArray(v)) return v.map(cloneValue);
  const out: Record<string, unknown> = {};
  for (const [k, x] of plainEntries(v)) Object.defineProperty(out, k, { value: cloneValue(x), enumerable: true, writable: true, configurable: true });
  return out;
}
