/**
 * Restoring a version as a forward edit (src/sync/restore.ts): exact for every root kind, undoable by
 * restoring the state from before, and convergent with concurrent edits.
 *
 * The property tests run a fixed seed in `npm test`. Long mode:
 * `VITE_LATTICE_PROPERTY_RUNS=2000 npx vitest run test/unit/versions/restore.test.ts` (tests run inside workerd,
 * which sees only VITE_-prefixed variables, through import.meta.env); VITE_LATTICE_PROPERTY_SEED picks
 * another seed, VITE_LATTICE_PROPERTY_SIZE=medium longer edit sequences.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { restoreInto, restoreUpdate } from "../../../src/versions/restore";
import { renderRoots, type RootKind } from "../../../src/versions/to-json";

// Read at run time: a literal `import.meta.env` is inlined when the module is transformed, and the
// transform is cached across runs, so the variables of the first run would stick.
const env = (Reflect.get(import.meta, "env") ?? {}) as Record<string, string | undefined>;
const RUNS = Number(env.VITE_LATTICE_PROPERTY_RUNS ?? env.LATTICE_PROPERTY_RUNS) || 150;
/** Long mode needs longer than the suite's 30 s per test. */
const TIMEOUT = Math.max(30_000, RUNS * 100);
const SEED = Number(env.VITE_LATTICE_PROPERTY_SEED ?? env.LATTICE_PROPERTY_SEED) || 20261201;

/** The roots the random edits use, with the kind each always has. */
const KINDS: Record<string, RootKind> = { t: "text", t2: "text", m: "map", m2: "map", a: "array", x: "xml", x2: "xml" };
const KIND_MAP: ReadonlyMap<string, RootKind> = new Map(Object.entries(KINDS));

/**
 * Client ids are fixed (concurrent inserts at one position are ordered by client id, and a doc that
 * receives formatting cleans it up with edits of its own), so a seed replays exactly.
 */
const FIRST_ID = 2 ** 31;
let nextClientId = FIRST_ID;
const fixedIds = (doc: Y.Doc) => {
  doc.clientID = nextClientId++;
  return doc;
};

/** A doc holding `state`, its roots untyped: what the server has. */
function load(...states: Uint8Array[]): Y.Doc {
  const doc = fixedIds(new Y.Doc());
  for (const s of states) Y.applyUpdate(doc, s);
  return doc;
}

/**
 * A replica of a replica: how a client joining through the server sees the doc. Twice, because a plain
 * object's `__proto__` key becomes a prototype when decoded and is dropped when that replica re-encodes
 * (lib0), so the first hop and the second differ; restore's own handling of it is tested below.
 */
const copy = (doc: Y.Doc) => load(Y.encodeStateAsUpdate(load(Y.encodeStateAsUpdate(doc))));

/**
 * Deletes format items that change nothing (all but the last of a key between two pieces of content,
 * and that one when its value is already in force). The XML rendering starts a new tag at each of
 * them, so a version whose history left one (Yjs's own cleanup compares object values with ===)
 * renders `<b>x</b><b>y</b>` where the restored text, cleaned, renders `<b>xy</b>`: same content.
 */
function withoutRedundantFormats(doc: Y.Doc): Y.Doc {
  const texts = new Set<Y.AbstractType<any>>();
  for (const structs of doc.store.clients.values()) {
    for (const s of structs) if (s instanceof Y.Item && !s.deleted && s.content instanceof Y.ContentFormat) texts.add(s.parent as Y.AbstractType<any>);
  }
  doc.transact((tr) => {
    for (const text of texts) {
      const current = new Map<string, string>();
      let gap: Y.Item[] = [];
      const close = () => {
        const last = new Map(gap.map((item) => [(item.content as Y.ContentFormat).key, item]));
        for (const item of gap) {
          const { key, value } = item.content as Y.ContentFormat;
          if (last.get(key) !== item || (current.get(key) ?? "null") === JSON.stringify(value)) item.delete(tr);
          else current.set(key, JSON.stringify(value));
        }
        gap = [];
      };
      for (let item = text._start; item !== null; item = item.right) {
        if (item.deleted) continue;
        if (item.content instanceof Y.ContentFormat) gap.push(item);
        else close();
      }
      close();
    }
  });
  return doc;
}

/** The JSON rendering, as `GET …/json` gives it (redundant format items aside: see above). */
function json(doc: Y.Doc): unknown {
  const r = renderRoots(withoutRedundantFormats(copy(doc)), KIND_MAP);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

/**
 * Everything the rendering leaves out: formatting, embeds, attributes of texts and elements, nested
 * types' classes. Read through Yjs's own API on typed roots of a copy; adjacent runs with equal
 * attributes merged (a redundant format item between them is not content).
 */
function deep(doc: Y.Doc): unknown {
  const d = copy(doc);
  const roots: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(KINDS)) {
    const root = kind === "text" ? d.getText(name) : kind === "map" ? d.getMap(name) : kind === "array" ? d.getArray(name) : d.getXmlFragment(name);
    roots[name] = deepValue(root);
  }
  return roots;
}

function deepDelta(t: Y.Text): unknown[] {
  const out: { insert: unknown; attributes: Record<string, unknown> }[] = [];
  for (const op of t.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]) {
    const attributes = op.attributes ?? {};
    const last = out[out.length - 1];
    if (typeof op.insert === "string" && last && typeof last.insert === "string" && JSON.stringify(last.attributes) === JSON.stringify(attributes)) {
      last.insert += op.insert;
    } else out.push({ insert: typeof op.insert === "string" ? op.insert : deepValue(op.insert), attributes });
  }
  return out;
}

function deepValue(v: unknown): unknown {
  if (v instanceof Y.XmlText) return { xmlText: deepDelta(v), attrs: v.getAttributes() };
  if (v instanceof Y.Text) return { text: deepDelta(v), attrs: v.getAttributes() };
  if (v instanceof Y.XmlElement) return { element: v.nodeName, attrs: v.getAttributes(), children: v.toArray().map(deepValue) };
  if (v instanceof Y.XmlFragment) return { fragment: v.toArray().map(deepValue) };
  if (v instanceof Y.Map) return { map: Object.fromEntries([...v.entries()].map(([k, x]) => [k, deepValue(x)])) };
  if (v instanceof Y.Array) return { array: v.toArray().map(deepValue) };
  return v;
}

const content = (doc: Y.Doc) => ({ json: json(doc), deep: deep(doc) });

// ---- random edits: each op picks a shared type of the doc by index and does something its class allows ----

type Edit = { target: number; action: number; a: number; b: number; str: string; value: unknown; attrs: Record<string, unknown> | null; key: string; tag: string };

const protoObject = JSON.parse('{"__proto__": {"polluted": 1}, "x": [1]}');
const plainValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ unit: "grapheme", maxLength: 5 }),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.uint8Array({ maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constant(protoObject),
);
const formatValue = fc.oneof(fc.constant(true), fc.constantFrom("red", "blue"), fc.record({ href: fc.constantFrom("a", "b") }));
const attrs = fc.option(fc.dictionary(fc.constantFrom("bold", "italic", "link", "color"), formatValue, { maxKeys: 2 }), { nil: null });

const edit: fc.Arbitrary<Edit> = fc.record({
  target: fc.nat(),
  action: fc.nat(),
  a: fc.nat(),
  b: fc.nat({ max: 8 }),
  str: fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
  value: plainValue,
  attrs,
  key: fc.constantFrom("k1", "k2", "k3", "__proto__", "constructor"),
  tag: fc.constantFrom("paragraph", "heading", "bulletList", "listItem"),
});
/** VITE_LATTICE_PROPERTY_SIZE=medium (or large) makes longer edit sequences in long mode. */
const SIZE = env.VITE_LATTICE_PROPERTY_SIZE as fc.Size | undefined;
const edits = fc.array(edit, SIZE ? { maxLength: 200, size: SIZE } : { maxLength: 30 });
/** The restore's client id: below or above the replicas' (2^31, 2^31 + 1, …), never one of theirs. */
const restoreId = fc.integer({ min: 1, max: 2 ** 32 - 1 }).filter((id) => id < FIRST_ID || id > FIRST_ID + 1000);

/** Every shared type of the doc: the roots, then everything nested in them. */
function sharedTypes(doc: Y.Doc): Y.AbstractType<any>[] {
  const out: Y.AbstractType<any>[] = [];
  const visit = (t: Y.AbstractType<any>) => {
    out.push(t);
    const children: unknown[] =
      t instanceof Y.Text
        ? (t.toDelta() as { insert: unknown }[]).map((op) => op.insert)
        : t instanceof Y.Map
          ? [...t.values()]
          : t instanceof Y.XmlElement
            ? [...t.toArray(), ...Object.values(t.getAttributes())]
            : (t as Y.Array<unknown>).toArray();
    for (const c of children) if (c instanceof Y.AbstractType) visit(c);
  };
  for (const [name, kind] of Object.entries(KINDS)) {
    visit(kind === "text" ? doc.getText(name) : kind === "map" ? doc.getMap(name) : kind === "array" ? doc.getArray(name) : doc.getXmlFragment(name));
  }
  return out;
}

/** Y.Array.insert refuses a BigInt as an element (Y.Map.set takes one): wrapped there. */
const element = (v: unknown) => (typeof v === "bigint" ? [v] : v);

/** A value to store: mostly plain, sometimes a new shared type with some content. */
function newValue(e: Edit): unknown {
  switch (e.a % 7) {
    case 0:
      return new Y.Map([[e.key, e.value]]);
    case 1:
      return Y.Array.from([element(e.value) as never]);
    case 2: {
      const t = new Y.Text();
      t.insert(0, e.str, e.attrs ?? {});
      return t;
    }
    default:
      return e.value;
  }
}

function newXmlNode(e: Edit): Y.XmlElement | Y.XmlText {
  if (e.a % 3 === 0) {
    const t = new Y.XmlText();
    t.insert(0, e.str, e.attrs ?? {});
    return t;
  }
  const el = new Y.XmlElement(e.tag);
  if (e.b % 2) el.setAttribute("level", String(e.b));
  const inner = new Y.XmlText();
  inner.insert(0, e.str);
  el.insert(0, [inner]);
  return el;
}

/**
 * Moves a text index off the middle of a surrogate pair, as an editor's cursor never stands there: Yjs
 * replaces the halves of a pair it splits with U+FFFD on the splitting replica only, so replicas diverge.
 */
function boundary(t: Y.Text, i: number): number {
  let units = "";
  for (const op of t.toDelta() as { insert: unknown }[]) units += typeof op.insert === "string" ? op.insert : "\0";
  const c = units.charCodeAt(i - 1);
  return c >= 0xd800 && c <= 0xdbff ? i - 1 : i;
}

function applyEdit(doc: Y.Doc, e: Edit): void {
  const types = sharedTypes(doc);
  const t = types[e.target % types.length]!;
  if (t instanceof Y.Text) {
    const len = t.length;
    const pos = boundary(t, e.a % (len + 1));
    const span = boundary(t, Math.min(pos + e.b, len)) - pos;
    switch (e.action % 6) {
      case 0:
      case 1:
        t.insert(pos, e.str, e.attrs ?? undefined);
        break;
      case 2:
        t.delete(pos, Math.max(span, 0));
        break;
      case 3:
        t.format(pos, Math.max(span, 0), e.attrs ?? { bold: null, italic: null, link: null, color: null });
        break;
      case 4:
        if (t instanceof Y.XmlText) t.insertEmbed(pos, { image: e.str });
        // Not first in a root text: to-json reads a root whose first item is a shared type as an array.
        else t.insertEmbed(pos, e.a % 5 === 0 && t._item !== null ? new Y.Map([["inside", e.value]]) : { image: e.str }, e.attrs ?? {});
        break;
      case 5:
        t.insert(pos, `${e.str}\n`, {});
        break;
    }
  } else if (t instanceof Y.XmlFragment) {
    const len = t.length;
    const pos = e.a % (len + 1);
    switch (e.action % 4) {
      case 0:
      case 1:
        t.insert(pos, [newXmlNode(e)]);
        break;
      case 2:
        t.delete(pos, Math.min(1 + (e.b % 2), len - pos));
        break;
      case 3:
        if (t instanceof Y.XmlElement) {
          if (e.b % 3 === 0) t.removeAttribute("level");
          else t.setAttribute(e.b % 2 ? "level" : "textAlign", e.str);
        } else t.insert(pos, [newXmlNode(e)]);
        break;
    }
  } else if (t instanceof Y.Map) {
    if (e.action % 4 === 3) t.delete(e.key);
    else t.set(e.key, newValue(e));
  } else if (t instanceof Y.Array) {
    const len = t.length;
    const pos = e.a % (len + 1);
    if (e.action % 3 === 2) t.delete(pos, Math.min(e.b, len - pos));
    else t.insert(pos, [element(newValue(e)), element(e.value)]);
  }
}

/** A client's doc, edited through the typed API as an editor would. */
function client(state?: Uint8Array): Y.Doc {
  const doc = fixedIds(new Y.Doc());
  if (state) Y.applyUpdate(doc, state);
  return doc;
}

/** Exchanges updates until every doc has every other's state (Yjs's format cleanup can add edits on receipt). */
function syncAll(docs: Y.Doc[]): void {
  for (let round = 0; round < 10; round++) {
    let changed = false;
    for (const from of docs) {
      for (const to of docs) {
        if (from === to) continue;
        const diff = Y.encodeStateAsUpdate(from, Y.encodeStateVector(to));
        const before = Y.encodeStateVector(to);
        Y.applyUpdate(to, diff);
        if (!equalBytes(before, Y.encodeStateVector(to))) changed = true;
      }
    }
    if (!changed) return;
  }
  throw new Error("docs did not converge in 10 rounds");
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

describe(`restore (fast-check, ${RUNS} runs, seed ${SEED})`, () => {
  it(
    "makes the content equal the version's, then restoring the before-restore state gives the pre-restore content back",
    () => {
      fc.assert(
        fc.property(edits, edits, restoreId, (before, after, clientId) => {
          nextClientId = FIRST_ID;
          const editor = client();
          for (const e of before) applyEdit(editor, e);
          const versionState = Y.encodeStateAsUpdate(editor);
          for (const e of after) applyEdit(editor, e);
          const server = load(Y.encodeStateAsUpdate(editor));
          const preRestore = Y.encodeStateAsUpdate(server);
          const expected = content(load(versionState));
          const preContent = content(load(preRestore));

          restoreInto(server, load(versionState), null, { clientId });
          expect(content(server)).toEqual(expected);
          // A forward edit: everything the document had is still in its history.
          expect(Y.encodeStateVector(load(preRestore, Y.encodeStateAsUpdate(server)))).toEqual(Y.encodeStateVector(server));
          // The live doc's roots are never typed by a restore.
          for (const type of server.share.values()) expect(type.constructor).toBe(Y.AbstractType);

          restoreInto(server, load(preRestore));
          expect(content(server)).toEqual(preContent);
          // Nothing left to change: a second restore of the same state adds no operation.
          expect(Y.encodeStateVector(load(restoreUpdate(server, load(preRestore))))).toEqual(new Uint8Array([0]));
        }),
        { numRuns: RUNS, seed: SEED },
      );
    },
    TIMEOUT,
  );

  it(
    "converges when two live clients edit concurrently with the restore",
    () => {
      fc.assert(
        fc.property(edits, edits, edits, edits, restoreId, (before, after, byBob, byCarol, clientId) => {
          nextClientId = FIRST_ID;
          const editor = client();
          for (const e of before) applyEdit(editor, e);
          const versionState = Y.encodeStateAsUpdate(editor);
          for (const e of after) applyEdit(editor, e);
          const server = load(Y.encodeStateAsUpdate(editor));
          const alice = client(Y.encodeStateAsUpdate(server)); // only watches
          const bob = client(Y.encodeStateAsUpdate(server));
          const carol = client(Y.encodeStateAsUpdate(server));

          // Bob's and Carol's edits are in flight while the server restores.
          for (const e of byBob) applyEdit(bob, e);
          for (const e of byCarol) applyEdit(carol, e);
          const update = restoreInto(server, load(versionState), null, { clientId });
          Y.applyUpdate(alice, update); // the broadcast
          expect(content(alice)).toEqual(content(load(versionState)));

          syncAll([server, alice, bob, carol]);
          const final = content(server);
          for (const d of [alice, bob, carol]) expect(content(d)).toEqual(final);
        }),
        { numRuns: Math.ceil(RUNS / 2), seed: SEED + 1 },
      );
    },
    TIMEOUT,
  );
});

describe("restore, case by case", () => {
  /** The state `build` makes, loaded as the server holds it. */
  const state = (build: (d: Y.Doc) => void) => {
    const d = new Y.Doc();
    build(d);
    return load(Y.encodeStateAsUpdate(d));
  };
  const rendered = (doc: Y.Doc, kinds: Record<string, RootKind> = {}) => {
    const r = renderRoots(doc, new Map(Object.entries(kinds)));
    if (!r.ok) throw new Error(r.message);
    return r.value;
  };

  it("restores a Tiptap-shaped document: nested elements with attributes, formatted text with marks", () => {
    const tiptap = (d: Y.Doc, words: string) => {
      const f = d.getXmlFragment("default");
      const h = new Y.XmlElement("heading");
      h.setAttribute("level", "2");
      h.insert(0, [new Y.XmlText("Title")]);
      const p = new Y.XmlElement("paragraph");
      const t = new Y.XmlText();
      p.insert(0, [t]);
      const list = new Y.XmlElement("bulletList");
      const item = new Y.XmlElement("listItem");
      const ip = new Y.XmlElement("paragraph");
      ip.insert(0, [new Y.XmlText("one")]);
      item.insert(0, [ip]);
      list.insert(0, [item]);
      f.insert(0, [h, p, list]);
      t.insert(0, words);
      t.format(0, 4, { bold: {} });
      t.format(5, 3, { link: { href: "https://example.com", target: "_blank" } });
    };
    const version = state((d) => tiptap(d, "some text here"));
    const server = load(Y.encodeStateAsUpdate(version));
    const editor = client(Y.encodeStateAsUpdate(server));
    const f = editor.getXmlFragment("default");
    ((f.get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(9, " more", { italic: true });
    (f.get(0) as Y.XmlElement).setAttribute("level", "3");
    f.insert(3, [new Y.XmlElement("horizontalRule")]);
    Y.applyUpdate(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)));
    expect(rendered(server)).not.toEqual(rendered(version));

    restoreInto(server, version);
    expect(rendered(server)).toEqual(rendered(version));
    expect(rendered(server).default).toBe(
      '<heading level="2">Title</heading><paragraph><bold>some</bold> <link href="https://example.com" target="_blank">tex</link>t here</paragraph><bulletlist><listitem><paragraph>one</paragraph></listitem></bulletlist>',
    );
  });

  it("keeps a text edit small: one changed character in a long formatted text is one small update", () => {
    const text = "lorem ipsum ".repeat(1000);
    const version = state((d) => {
      d.getText("t").insert(0, text);
      d.getText("t").format(100, 50, { bold: true });
      // 500 separate deletions in the history: the update carries none of them.
      for (let i = 0; i < 500; i++) d.getText("t").delete(i, 1);
    });
    const editor = client(Y.encodeStateAsUpdate(version));
    editor.getText("t").delete(6000, 1);
    editor.getText("t").insert(6000, "X", {});
    const server = load(Y.encodeStateAsUpdate(editor));
    const update = restoreInto(server, version);
    expect(copy(server).getText("t").toDelta()).toEqual(copy(version).getText("t").toDelta());
    expect(update.length).toBeLessThan(64);
  });

  it("leaves no redundant format item at the seam of an object-valued format: one run, one tag", () => {
    const version = state((d) => {
      const t = new Y.XmlText();
      d.getXmlFragment("x").insert(0, [t]);
      t.insert(0, "ab", { link: { href: "a" } });
    });
    const editor = client(Y.encodeStateAsUpdate(version));
    (editor.getXmlFragment("x").get(0) as Y.XmlText).insert(1, "-", {});
    const server = load(Y.encodeStateAsUpdate(editor));
    expect(rendered(server)).toEqual({ x: '<link href="a">a</link>-<link href="a">b</link>' });
    restoreInto(server, version);
    expect(rendered(server)).toEqual({ x: '<link href="a">ab</link>' });
  });

  it("never splits a surrogate pair at the edges of the edit", () => {
    const version = state((d) => d.getText("t").insert(0, "a😀b"));
    const server = state((d) => d.getText("t").insert(0, "a😃b"));
    restoreInto(server, version);
    expect(rendered(server)).toEqual({ t: "a😀b" });
  });

  it("keeps formatting, embeds, a final newline and the text's own attributes, nested or not", () => {
    const version = state((d) => {
      const t = d.getText("t");
      t.insert(0, "ab\n", { bold: true });
      t.insertEmbed(1, { image: "x.png" }, { width: 3 });
      t.setAttribute("lang", "en");
      const nested = new Y.Text();
      nested.insert(0, "line\n", { code: true });
      d.getMap("m").set("note", nested);
    });
    const server = state((d) => d.getText("t").insert(0, "other"));
    restoreInto(server, version);
    const [got, want] = [copy(server), copy(version)];
    expect(got.getText("t").toDelta()).toEqual(want.getText("t").toDelta());
    expect(got.getText("t").getAttributes()).toEqual({ lang: "en" });
    expect((got.getMap("m").get("note") as Y.Text).toDelta()).toEqual([{ insert: "line\n", attributes: { code: true } }]);
  });

  it("empties roots the version lacks, creates roots only the version has, and changes a root's kind", () => {
    const version = state((d) => {
      d.getText("wasMap").insert(0, "now text");
      d.getArray("onlyInVersion").push([1, 2]);
      d.getMap("wasText").set("k", "v");
    });
    const server = state((d) => {
      d.getMap("wasMap").set("k", 1);
      d.getText("wasText").insert(0, "text", { bold: true });
      d.getXmlFragment("onlyLive").insert(0, [new Y.XmlElement("p")]);
      d.getText("t").insert(0, "gone");
    });
    restoreInto(server, version);
    expect(rendered(server, { onlyLive: "xml", t: "text" })).toEqual({ wasMap: "now text", wasText: { k: "v" }, onlyInVersion: [1, 2], onlyLive: "", t: "" });
  });

  it("restores nested maps and arrays in place, so a concurrent edit deeper inside survives", () => {
    const version = state((d) => {
      const inner = new Y.Map<unknown>([["keep", 1]]);
      d.getMap("m").set("inner", inner);
      d.getArray("a").push([new Y.Array(), "x"]);
    });
    const server = load(Y.encodeStateAsUpdate(version));
    const editor = client(Y.encodeStateAsUpdate(server));
    (editor.getMap("m").get("inner") as Y.Map<unknown>).set("keep", 2);
    Y.applyUpdate(server, Y.encodeStateAsUpdate(editor, Y.encodeStateVector(server)));
    const bob = client(Y.encodeStateAsUpdate(server));
    (bob.getMap("m").get("inner") as Y.Map<unknown>).set("added", true); // concurrent with the restore

    restoreInto(server, version);
    syncAll([server, bob]);
    // Restored in place: bob's key, written into the same nested map, is still there.
    expect(rendered(server)).toEqual({ m: { inner: { keep: 1, added: true } }, a: [[], "x"] });
  });

  it("writes a plain value's __proto__ key back as it was read", () => {
    const version = state((d) => d.getMap("m").set("v", JSON.parse('{"__proto__": {"a": 1}, "b": [2]}')));
    const server = state((d) => d.getMap("m").set("v", 0));
    restoreInto(server, version);
    expect(JSON.stringify(rendered(server))).toBe('{"m":{"v":{"b":[2],"__proto__":{"a":1}}}}');
    expect(rendered(server)).toEqual(rendered(version));
  });

  it("changes neither input, and types no root of either", () => {
    const version = state((d) => d.getText("t").insert(0, "v"));
    const current = state((d) => d.getMap("m").set("k", 1));
    const [cv, vv] = [Y.encodeStateVector(current), Y.encodeStateVector(version)];
    const update = restoreUpdate(current, version);
    expect(Y.encodeStateVector(current)).toEqual(cv);
    expect(Y.encodeStateVector(version)).toEqual(vv);
    for (const d of [current, version]) for (const type of d.share.values()) expect(type.constructor).toBe(Y.AbstractType);
    // One new client id, used by no one else.
    const after = load(Y.encodeStateAsUpdate(current), update);
    expect(after.store.clients.size).toBe(current.store.clients.size + 1);
  });
});
