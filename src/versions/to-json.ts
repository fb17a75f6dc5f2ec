/**
 * A Y.Doc's root shared types as plain JSON, for `GET /v1/docs/{id}/json`.
 *
 * Pure (only `yjs`). It reads items directly rather than calling Yjs's toJSON/toString, because those
 * build objects with `obj[key] = value` (so a key `__proto__` vanishes or replaces the prototype) and
 * hand back values JSON cannot carry (BigInt throws in JSON.stringify, Uint8Array comes out as an
 * object of indices). It never types a root either (`doc.getText(name)` is permanent for a Y.Doc),
 * so a request's `types` cannot change how any doc reads its roots.
 *
 * Rendering:
 * - text root → its plain string (formatting and embeds dropped); map → object; array → array;
 *   xml → XML string, as Yjs's toString writes it (attributes sorted, no escaping);
 * - nested Y.Text/Y.Xml* → string as above, Y.Map → object, Y.Array → array; a subdocument → its guid;
 * - BigInt → decimal string (no precision lost; a JSON number would round past 2^53);
 * - Uint8Array → base64url string without padding (the encoding the API uses for binary elsewhere);
 * - NaN/±Infinity → null and undefined in an array → null, as JSON.stringify would; an undefined
 *   map value or object property is left out, as JSON.stringify would.
 * Every output object is built from entries, so every key, `__proto__` included, is an own property.
 */
import * as Y from "yjs";

export type RootKind = "text" | "map" | "array" | "xml";

export type RenderResult = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/**
 * Deepest nesting rendered (shared types, arrays, objects and XML elements all count). Yjs stores
 * nested types flat, so an update can nest them arbitrarily deep; past this, recursion here, the RPC
 * structured clone or JSON.stringify would overflow the stack, and many JSON parsers refuse such depth.
 */
export const MAX_DEPTH = 256;

/**
 * Every root of `doc`, plus every root `kinds` names. `kinds` gives a root's kind where its content
 * cannot tell (a root never typed on this doc and empty); not ok when it contradicts the content,
 * or when the content nests deeper than MAX_DEPTH.
 */
export function renderRoots(doc: Y.Doc, kinds: ReadonlyMap<string, RootKind> = new Map()): RenderResult {
  const entries: [string, unknown][] = [];
  try {
    for (const name of new Set([...doc.share.keys(), ...kinds.keys()])) {
      const root = doc.share.get(name);
      const shown = root ? kindShownByContent(root) : undefined;
      const asked = kinds.get(name);
      if (asked && shown && asked !== shown) {
        return { ok: false, message: `types names a kind that does not match the root's content: ${JSON.stringify(name)} is a ${shown}, not a ${asked}` };
      }
      entries.push([name, root ? renderAs(root, asked ?? shown ?? "text", 0) : empty(asked ?? "text")]);
    }
  } catch (e) {
    if (e instanceof TooDeep) return { ok: false, message: `the content nests deeper than ${MAX_DEPTH} levels; read it as a Yjs update instead` };
    throw e;
  }
  return { ok: true, value: Object.fromEntries(entries) };
}

/** The kind a root's content shows, or undefined for an empty root (any kind reads it). */
export function kindShownByContent(type: Y.AbstractType<any>): RootKind | undefined {
  if (type instanceof Y.Text) return "text";
  if (type instanceof Y.Map) return "map";
  if (type instanceof Y.Array) return "array";
  if (type instanceof Y.XmlFragment) return "xml";
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const c = item.content;
    if (c instanceof Y.ContentString || c instanceof Y.ContentFormat || c instanceof Y.ContentEmbed) return "text";
    if (c instanceof Y.ContentType && (c.type instanceof Y.XmlElement || c.type instanceof Y.XmlText)) return "xml";
    return "array";
  }
  for (const item of type._map.values()) if (!item.deleted) return "map";
  return undefined;
}

class TooDeep extends Error {}

function empty(kind: RootKind): unknown {
  return kind === "map" ? {} : kind === "array" ? [] : "";
}

function renderAs(type: Y.AbstractType<any>, kind: RootKind, depth: number): unknown {
  switch (kind) {
    case "text":
      return plainText(type);
    case "map":
      return renderMap(type, depth + 1);
    case "array":
      return listValues(type).map((v) => renderValue(v, depth + 1) ?? null);
    case "xml":
      return xmlChildren(type, depth + 1);
  }
}

/** A nested shared type: its class says its kind (only roots can be untyped). */
function renderType(type: Y.AbstractType<any>, depth: number): unknown {
  if (type instanceof Y.Text || type instanceof Y.XmlFragment) return xmlString(type, depth);
  if (type instanceof Y.Map) return renderAs(type, "map", depth);
  if (type instanceof Y.Array) return renderAs(type, "array", depth);
  const shown = kindShownByContent(type);
  return shown ? renderAs(type, shown, depth) : null;
}

/** A JSON-safe value; undefined only for undefined (callers drop it or write null, as JSON does). */
function renderValue(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
    case "undefined":
      return v;
    case "number":
      return Number.isFinite(v) ? v : null;
    case "bigint":
      return v.toString();
    case "object":
      break;
    default:
      return null; // functions and symbols cannot come out of a decoded update
  }
  if (v === null) return null;
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (v instanceof Y.AbstractType) return renderType(v, depth);
  if (v instanceof Y.Doc) return v.guid;
  // Slot checks, not instanceof: a decoded object can have an array or a Uint8Array as its prototype (below).
  if (ArrayBuffer.isView(v)) return base64url(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (Array.isArray(v)) return v.map((x) => renderValue(x, depth + 1) ?? null);
  const entries: [string, unknown][] = [];
  for (const key of Object.keys(v)) {
    const x = renderValue((v as Record<string, unknown>)[key], depth + 1);
    if (x !== undefined) entries.push([key, x]);
  }
  // lib0 decodes an object with `obj[key] = value`, so a key `__proto__` holding an object, array or
  // null became the prototype instead of a property: put it back. (One holding any other value is
  // lost in decoding, before this code sees it.) Objects from a decoded update are otherwise plain.
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && !Object.hasOwn(v, "__proto__")) entries.push(["__proto__", renderValue(proto, depth + 1)]);
  return Object.fromEntries(entries);
}

function renderMap(type: Y.AbstractType<any>, depth: number): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const [key, item] of type._map) {
    if (item.deleted) continue;
    // The last value of the item is the entry's value, as Y.Map reads it.
    const v = renderValue(item.content.getContent()[item.length - 1], depth);
    if (v !== undefined) entries.push([key, v]);
  }
  return Object.fromEntries(entries);
}

/** The visible values of a list type, as Y.Array reads them (a string item yields its characters). */
function listValues(type: Y.AbstractType<any>): unknown[] {
  const out: unknown[] = [];
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    for (const v of item.content.getContent()) out.push(v);
  }
  return out;
}

/** What Y.Text's toString gives: the visible string content, formatting and embeds left out. */
function plainText(type: Y.AbstractType<any>): string {
  let s = "";
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted && item.content instanceof Y.ContentString) s += item.content.str;
  }
  return s;
}

// ---- XML, as Yjs's toString writes it, but never throwing and never losing a `__proto__` key ----

/** A Y.Text or Y.Xml* as a string (Y.XmlText with its formatting as tags, a plain Y.Text without). */
function xmlString(type: Y.Text | Y.XmlFragment, depth: number): string {
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (type instanceof Y.XmlText) return xmlText(type, depth);
  if (type instanceof Y.Text) return plainText(type);
  if (!(type instanceof Y.XmlElement)) return xmlChildren(type, depth + 1);
  let attrs = "";
  for (const key of [...type._map.keys()].sort()) {
    const item = type._map.get(key)!;
    if (!item.deleted) attrs += ` ${key}="${inline(item.content.getContent()[item.length - 1], depth + 1)}"`;
  }
  const name = type.nodeName.toLocaleLowerCase();
  return `<${name}${attrs}>${xmlChildren(type, depth + 1)}</${name}>`;
}

function xmlChildren(type: Y.AbstractType<any>, depth: number): string {
  let s = "";
  for (const v of listValues(type)) s += inline(v, depth);
  return s;
}

/**
 * Y.XmlText as Yjs writes it: each run of text (or embed) wrapped in one tag per format, formats
 * sorted by name, a format's value's own keys as the tag's attributes (also sorted).
 */
function xmlText(type: Y.XmlText, depth: number): string {
  const formats = new Map<string, unknown>();
  let out = "";
  let run = "";
  const wrap = (inner: string): string => {
    let open = "";
    let close = "";
    for (const name of [...formats.keys()].sort()) {
      const value = formats.get(name);
      // Yjs enumerates a format's value with for…in: a string gives its indices, true none.
      const keys = value === null || value === undefined ? [] : Object.keys(Object(value)).sort();
      open += `<${name}`;
      for (const key of keys) open += ` ${key}="${inline((value as Record<string, unknown>)[key], depth + 1)}"`;
      open += ">";
      close = `</${name}>` + close;
    }
    return open + inner + close;
  };
  const flush = () => {
    if (run) out += wrap(run);
    run = "";
  };
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const c = item.content;
    if (c instanceof Y.ContentString) run += c.str;
    else if (c instanceof Y.ContentEmbed || c instanceof Y.ContentType) {
      flush();
      out += wrap(inline(c.getContent()[0], depth + 1));
    } else if (c instanceof Y.ContentFormat) {
      flush();
      if (c.value === null) formats.delete(c.key);
      else formats.set(c.key, c.value);
    }
  }
  flush();
  return out;
}

/**
 * A value inside XML text: primitives as a template literal writes them (BigInt as decimal),
 * text and XML types as their string, anything else as the JSON text of its rendering (Yjs would
 * write "[object Object]", or throw for an object whose own `toString` is not a function).
 */
function inline(v: unknown, depth: number): string {
  if (v === null || typeof v !== "object") return String(v);
  if (v instanceof Y.Text || v instanceof Y.XmlFragment) return xmlString(v, depth);
  const r = renderValue(v, depth);
  return typeof r === "string" ? r : JSON.stringify(r);
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  // In slices: spreading a whole large array into one call would overflow the argument stack.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
