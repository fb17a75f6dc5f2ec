/**
 * The versions of one document, on its object's side: named versions, automatic versions (an alarm duty),
 * restore and fork. A version is stored in one transaction with the retention it triggers and its
 * `version.created` event; a restore that the room refuses takes its before-restore version and event back
 * in one transaction, so a refused restore leaves nothing behind.
 */
import * as Y from "yjs";
import { done, type Outcome, refuse } from "../room/outcome";
import type { RoomParts } from "../room/parts";
import type { Reader } from "../room/rpc-types";
import { writeUpdate } from "../room/write";
import { RESTORED, recordOnce, VERSION_CREATED, type OnceData } from "../webhooks/once";
import {
  nextAutoVersionAt,
  recordAutoVersion,
  recordChange,
  type AutoVersionState,
  type AutoVersionTiming,
  type RetentionLimits,
  type VersionKind,
  VERSION_IDLE_SECONDS,
} from "./policy";
import { restoreOnCopy, restoreUpdate } from "./restore";
import { putRefusal, SqlVersionStore, type PutResult, type PutVersion, type VersionMeta, type VersionPage } from "./store";
import { renderRoots, type RootKind } from "./to-json";

/** Where the automatic-version timing survives eviction: written once per burst and per version. */
const AUTO_VERSION_META = "autoVersion";
/**
 * What rendering a stored byte as JSON (decode into a Y.Doc, then walk it) costs a reader's allowance,
 * in bytes: rendering is several times dearer than copying the same bytes out.
 */
export const RENDER_COST_PER_BYTE = 4;
/** A spent allowance on a version write says how long to wait (Retry-After) even when the room does not know. */
const RETRY_AFTER_SECONDS = 60;

const noVersion = refuse("not_found", "no such version");
const unrestorable = refuse("unrestorable", "the document's content cannot be restored to this version");
export const overReadBudget = refuse("rate_limited", "over the reader's byte allowance (MAX_SYNC_BYTES_PER_SECOND): try again later");

/** What the versions need of their object. */
export interface VersionHost {
  parts: RoomParts;
  sql: SqlStorage;
  transaction<T>(fn: () => T): T;
  /** A version or restore event was recorded: it goes out within about a second. */
  webhooksSoon(): void;
  /** The alarm must come by `at` (the automatic version's due time). */
  requestAlarm(at: number): void;
  /** Charges a reader's byte allowance; false when it is spent (a secret key is never charged). */
  chargeRead(reader: Reader | undefined, bytes: number): boolean;
  docId(): string | undefined;
}

export class DocumentVersions {
  private store!: SqlVersionStore;
  private readonly timing: AutoVersionTiming;
  /** Changes not yet in an automatic version, and when the last one was taken. */
  private auto: AutoVersionState = {};
  /** A restore's `document.restored`, recorded by the commit that stores the restore's update. */
  private restoredEvent: OnceData<typeof RESTORED> | undefined;

  constructor(
    private readonly host: VersionHost,
    private readonly retention: RetentionLimits,
    intervalSeconds: number,
    erased: boolean,
  ) {
    this.timing = { intervalMs: intervalSeconds * 1000, idleMs: VERSION_IDLE_SECONDS * 1000 };
    this.open();
    const auto = host.parts.store.getMeta(AUTO_VERSION_META);
    if (auto && !erased) this.auto = JSON.parse(auto) as AutoVersionState;
  }

  /** (Again after an erase: deleteAll drops the tables.) The store's own transaction is a no-op: every write runs in one of the object's, with its event. */
  open(): void {
    this.store = new SqlVersionStore(this.host.sql, (fn) => fn(), this.retention);
  }

  /** The document was erased: no version timing, no pending restore event. */
  reset(): void {
    this.auto = {};
    this.restoredEvent = undefined;
  }

  /** Inside the commit of a restore's update: its `document.restored` is recorded with it. */
  recordInCommit(): void {
    if (this.restoredEvent) recordOnce(this.host.parts.ledger, RESTORED, this.restoredEvent, Date.now());
    this.restoredEvent = undefined;
  }

  /** A change: the first of a burst starts the automatic version's timing (kept in storage) and asks for the alarm. */
  changed(now: number): void {
    const first = this.auto.firstChangeAt === undefined;
    this.auto = recordChange(this.auto, now);
    if (!first) return;
    this.host.parts.store.setMeta(AUTO_VERSION_META, JSON.stringify(this.auto));
    this.host.requestAlarm(nextAutoVersionAt(this.auto, this.timing)!);
  }

  /**
   * The alarm duty: takes the automatic version when version-policy says it is due (end of a burst, or the
   * interval during continuous editing). The document is loaded for it if it is not: only an object that
   * changed since its last automatic version pays that.
   */
  readonly duty = {
    name: "automatic versions",
    run: (now: number): number => {
      const due = nextAutoVersionAt(this.auto, this.timing);
      if (due === undefined) return Infinity;
      if (now < due) return due;
      const put = this.put({ state: this.host.parts.core.encodeState(), kind: "auto", now }, () => this.autoTaken(now));
      if (!put.ok) {
        // Named versions fill MAX_VERSION_BYTES: this burst gets no automatic version; the next one tries again.
        console.warn("automatic version refused", { doc: this.host.docId(), reason: put.reason });
        this.autoTaken(now);
      }
      return Infinity;
    },
  };

  private autoTaken(now: number): void {
    this.auto = recordAutoVersion(now);
    this.host.parts.store.setMeta(AUTO_VERSION_META, JSON.stringify(this.auto));
  }

  /** A named version of the content as stored now; too_large past MAX_VERSION_BYTES (nothing changes then). */
  create(input: { name: string | null; createdBy: string | null }): Outcome<VersionMeta> {
    this.host.parts.outbox.flush(); // a version holds only what is stored
    const put = this.put({ state: this.host.parts.core.encodeState(), kind: "named", name: input.name, createdBy: input.createdBy });
    return put.ok ? done(put.version) : putRefusal(put);
  }

  list(opts: { limit: number; cursor?: string; kind?: VersionKind }): Outcome<VersionPage> {
    const page = this.store.list(opts);
    return page ? done(page) : refuse("bad_cursor", "the cursor is not valid");
  }

  get(versionId: string): Outcome<VersionMeta> {
    const meta = this.store.get(versionId);
    return meta ? done(meta) : noVersion;
  }

  /** The version's Yjs v1 state, paid by a client token's user. */
  state(versionId: string, reader?: Reader): Outcome<Uint8Array> {
    const state = this.store.getState(versionId);
    if (!state) return noVersion;
    return this.host.chargeRead(reader, state.length) ? done(state) : overReadBudget;
  }

  /** The version rendered like `GET …/json`: decoding and rendering it is paid by a client token's user. */
  json(versionId: string, kinds: ReadonlyMap<string, RootKind>, reader?: Reader): Outcome<Record<string, unknown>> {
    const size = this.store.get(versionId)?.sizeBytes;
    if (size !== undefined && !this.host.chargeRead(reader, RENDER_COST_PER_BYTE * size)) return overReadBudget;
    const doc = this.versionDoc(versionId);
    if (!doc.ok) return doc;
    const rendered = renderRoots(doc.value, kinds);
    return rendered.ok ? rendered : refuse("unrestorable", rendered.message);
  }

  /**
   * Makes the content the version's as a forward edit (restore.ts), after storing the current content as a
   * before-restore version. The edit goes the way of every update: stored before anyone sees it, then sent
   * to live clients, the saved signal, the catalog write-back and `document.updated`. Not held to
   * MAX_UPDATE_BYTES (a restore is as large as the difference), but it must fit the document's limits, and
   * a client token's user pays for it like for their own writes (bytes, new client ids).
   */
  restore(versionId: string, by: string | null): Outcome<{ restoredFrom: string; before: string }> {
    const version = this.versionDoc(versionId);
    if (!version.ok) return version;
    this.host.parts.outbox.flush();
    // Computed on a copy while the live document is out of memory, then the version is let go: a restore
    // holds about twice the document at its peak, never three documents (RoomCore.restoreEdit).
    let edit: ReturnType<RoomParts["core"]["restoreEdit"]>;
    try {
      edit = this.host.parts.core.restoreEdit(version.value, restoreOnCopy);
    } catch (e) {
      console.error("restore failed", { error: e instanceof Error ? e.name : typeof e });
      return unrestorable;
    } finally {
      version.value.destroy();
    }
    if (!edit.ok) return refuse("too_large", edit.message);
    const put = this.put({ state: edit.current, kind: "before-restore", createdBy: by });
    if (!put.ok) return putRefusal(put, "no room for the before-restore version: ");
    const before = put.version.id;
    this.restoredEvent = { restoredFrom: versionId, before };
    // Charged like any write to whoever restores; a secret key's restore is the application's own.
    const written = writeUpdate(this.host.parts, edit.update, by === null ? {} : { userId: by }, {
      invalid: "the restore's edit is not a valid update",
      storage: "the restore could not be stored; nothing was applied",
    });
    if (!written.ok) {
      this.restoredEvent = undefined;
      if (written.reason === "storage_failed") return written;
      // Nothing of the restore was applied: take back the before-restore version and its event.
      this.host.transaction(() => {
        this.store.delete(before);
        this.host.parts.ledger.remove(VERSION_CREATED, JSON.stringify({ versionId: before, kind: put.version.kind, name: put.version.name }));
      });
      return restoreRefusal(written);
    }
    // Already the version's content (an empty edit commits nothing): the restore is still an event.
    this.recordInCommit();
    this.host.webhooksSoon();
    return done({ restoredFrom: versionId, before });
  }

  /** The version's content as one edit into an empty document: what a fork starts from (its own history, none of this one's). */
  fork(versionId: string): Outcome<Uint8Array> {
    const version = this.versionDoc(versionId);
    if (!version.ok) return version;
    try {
      return done(restoreUpdate(new Y.Doc(), version.value));
    } catch (e) {
      console.error("restore failed", { error: e instanceof Error ? e.name : typeof e });
      return unrestorable;
    } finally {
      version.value.destroy();
    }
  }

  rename(versionId: string, name: string | null): Outcome<VersionMeta> {
    const meta = this.store.rename(versionId, name);
    return meta ? done(meta) : noVersion;
  }

  remove(versionId: string): Outcome<null> {
    const deleted = this.host.transaction(() => this.store.delete(versionId));
    return deleted ? done(null) : noVersion;
  }

  /**
   * Stores a version, the retention it triggers, its `version.created` event and `alsoInside` in one
   * transaction; the event goes out on the alarm soon after.
   */
  private put(input: PutVersion, alsoInside: () => void = () => {}): PutResult {
    const put = this.host.transaction(() => {
      const r = this.store.put(input);
      if (!r.ok) return r;
      recordOnce(this.host.parts.ledger, VERSION_CREATED, { versionId: r.version.id, kind: r.version.kind, name: r.version.name }, r.version.createdAt);
      alsoInside();
      return r;
    });
    if (put.ok) this.host.webhooksSoon();
    return put;
  }

  /** A stored version as a Y.Doc; refused when its content nests deeper than rendering (and restore) go. */
  private versionDoc(versionId: string): Outcome<Y.Doc> {
    const state = this.store.getState(versionId);
    if (!state) return noVersion;
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, state);
    } catch {
      return refuse("unrestorable", "the version's state cannot be read");
    }
    // restore.ts recurses as deep as the content nests; renderRoots refuses past MAX_DEPTH without recursing further.
    const rendered = renderRoots(doc);
    if (!rendered.ok) return refuse("unrestorable", rendered.message);
    return done(doc);
  }
}

/** A restore the room refused, in version terms: a user's spent allowance is theirs to wait out. */
function restoreRefusal(r: { reason: string; message: string }) {
  switch (r.reason) {
    case "too_large":
      return refuse("too_large", r.message);
    case "too_many_client_ids":
    case "rate_limited":
      return refuse("rate_limited", r.message, RETRY_AFTER_SECONDS);
    default:
      return refuse("unrestorable", r.message);
  }
}
