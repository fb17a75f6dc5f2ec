/**
 * The document object's helpers, wired to each other and to the object: versions, content calls, webhooks,
 * the catalog write-back, the saved signal, access rules, and the one alarm with its duties in order.
 * The object (doc-room.ts) keeps the sockets and the table of calls.
 */
import type { Env } from "../env";
import { DocumentVersions } from "../versions/room";
import { WebhookSchedule } from "../webhooks/room-schedule";
import { AccessRules } from "./access-rules";
import { Alarm } from "./alarms";
import { CatalogWriteBack } from "./catalog-writeback";
import { DocumentContent } from "./content";
import { idleCompaction } from "./idle-compaction";
import { type Limits, retentionLimits } from "./limits";
import type { RoomParts } from "./parts";
import type { DocRef, Reader } from "./rpc-types";
import { SavedSignal } from "./saved-signal";
import type { Sockets } from "./sockets";

/** What the helpers need of their object. */
export interface RoomHost {
  ctx: DurableObjectState;
  env: Env;
  limits: Limits;
  parts: RoomParts;
  sockets: Sockets;
  ref(): DocRef | undefined;
  erased(): boolean;
  lastChangeAt(): number;
  storedBytes(): number;
  chargeRead(reader: Reader | undefined, bytes: number): boolean;
}

export interface RoomHelpers {
  versions: DocumentVersions;
  content: DocumentContent;
  webhooks: WebhookSchedule;
  catalog: CatalogWriteBack;
  saved: SavedSignal;
  rules: AccessRules;
  alarm: Alarm;
}

/** After the parts are open (the versions read their timing from the store). */
export function assemble(h: RoomHost): RoomHelpers {
  const { ctx, env, limits, parts, sockets } = h;
  const chargeRead = (reader: Reader | undefined, bytes: number) => h.chargeRead(reader, bytes);
  const source = { ref: () => h.ref(), sizeBytes: () => h.storedBytes() };
  const webhooks = new WebhookSchedule({ env, ledger: () => parts.ledger, durableStateVector: () => parts.core.durableStateVector(), ...source });
  const catalog = new CatalogWriteBack(env.DB, { ...source, lastChangeAt: () => h.lastChangeAt() });
  // The alarm is made last, with every duty; the versions reach it through this closure.
  let alarm: Alarm | undefined;
  const request = (at: number) => alarm?.request(at);
  const versions = new DocumentVersions(
    {
      parts,
      sql: ctx.storage.sql,
      transaction: (fn) => ctx.storage.transactionSync(fn),
      webhooksSoon: () => request(webhooks.soon(Date.now())),
      requestAlarm: request,
      chargeRead,
      docId: () => h.ref()?.docId,
    },
    retentionLimits(limits),
    limits.versionIntervalSeconds,
    h.erased(),
  );
  alarm = new Alarm(ctx.storage, [
    { name: "commit", run: () => (parts.outbox.flush(), Infinity) },
    sockets.expiry,
    webhooks.duty,
    catalog.duty,
    idleCompaction(parts, () => h.lastChangeAt()),
    { name: "automatic versions", run: (now) => (h.erased() ? Infinity : versions.duty.run(now)) },
  ]);
  return {
    versions,
    content: new DocumentContent({ parts, limits, storedBytes: () => h.storedBytes(), chargeRead, conns: () => sockets.all() }),
    webhooks,
    catalog,
    saved: new SavedSignal(
      () => sockets.all(),
      () => parts.core.durableStateVector(),
    ),
    rules: new AccessRules(parts, sockets),
    alarm,
  };
}
