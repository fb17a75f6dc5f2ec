/**
 * The values a restore reads, compares and copies (pure: only `yjs`): a type's entries, elements and text
 * delta, read from its items whether it is typed or not (a version's roots are never typed); deep equality
 * of stored values; and copies of them that can be inserted into another doc, which is how restore.ts
 * writes a version's content.
 */
import * as Y from "yjs";

// ---- reading content from items (typed or not, so a version's untyped roots read without typing) ----

export type Attrs = Record<string, unknown>;
/** A delta op: a string run (maximal for its attributes), an embed, or an embedded shared type. */
export type Op = { insert: string | unknown; attributes: Attrs };

/** A map-like type's live entries (a map's keys, an element's or a text's attributes), each its last value. */
export function entriesOf(type: Y.AbstractType<any>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, item] of type._map) if (!item.deleted) out.set(key, item.content.getContent()[item.length - 1]);
  return out;
}

/** A list-like type's live elements (an array's or an XML fragment's), in order. */
export function valuesOf(type: Y.AbstractType<any>): unknown[] {
  const out: unknown[] = [];
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    for (const v of item.content.getContent()) out.push(v);
  }
  return out;
}

/** The text's content as Yjs's toDelta reads it, without needing the type to be a Y.Text. */
export function deltaOf(type: Y.AbstractType<any>): Op[] {
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

/** How many positions an op covers: a string's UTF-16 code units, 1 for an embed or a shared type. */
export const opLength = (op: Op): number => (typeof op.insert === "string" ? op.insert.length : 1);

/**
 * applyDelta drops the final "\n" of a last insert that ends the text (a Quill convention), and which
 * `sanitize` value turns that off differs between Yjs releases (13.6.33 strips when it is false, and a
 * preliminary text ignores the option). A final empty retain is never that last insert, and does nothing.
 */
export function keepFinalNewline<T extends object>(delta: T[]): (T | { retain: number })[] {
  return [...delta, { retain: 0 }];
}

// ---- shared types: shape, equality, copies ----

/** Two shared types restore into each other only when their shapes match (class, and node or hook name). */
export function shapeOf(v: unknown): string | undefined {
  if (v instanceof Y.XmlText) return "xmltext";
  if (v instanceof Y.Text) return "text";
  if (v instanceof Y.XmlElement) return `element:${v.nodeName}`;
  if (v instanceof Y.XmlFragment) return "fragment";
  if (v instanceof Y.XmlHook) return `hook:${v.hookName}`;
  if (v instanceof Y.Map) return "map";
  if (v instanceof Y.Array) return "array";
  return undefined;
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

/** Equal formatting: the same keys with deep-equal values. */
export function equalAttrs(a: Attrs, b: Attrs): boolean {
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

/** A copy of formatting attributes, as cloneValue copies any plain object. */
export function cloneAttrs(a: Attrs): Attrs {
  return cloneValue(a) as Attrs;
}

/**
 * A copy of a stored value that can be inserted into another doc: shared types as new (preliminary)
 * types with the same content, subdocuments by guid and options, plain values rebuilt so every key,
 * `__proto__` included, is an own property and encodes as it was decoded.
 */
export function cloneValue(v: unknown): unknown {
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
