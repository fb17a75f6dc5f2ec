/**
 * Comparing two text deltas for restore.ts's text diff (pure: only `yjs`): the common prefix and suffix,
 * the version's middle to insert, and the format items left over once the edit is made.
 */
import * as Y from "yjs";
import { equalAttrs, equalValue, type Op, opLength } from "./restore-values";

/**
 * Deletes format items that change nothing: in a gap between two pieces of content, all but the last
 * item of each key, and that one too when its value is already in force. Yjs leaves such items where
 * its own cleanup compares with === (an object value like `{href}` never equals an equal one) and where
 * an insert meets the format items a deletion left; the delta is the same either way, but the XML
 * rendering would show the text split into identical tags there.
 */
export function dropRedundantFormats(text: Y.Text, tr: Y.Transaction): void {
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
export function commonRun(a: Op[], b: Op[], fromEnd: boolean, max: number): { length: number; lastChar: number } {
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
export function sliceOps(ops: Op[], from: number, to: number): Op[] {
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
