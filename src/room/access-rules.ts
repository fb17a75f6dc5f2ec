/**
 * The access rules stored for this document's users, in the object's own storage (the catalog in D1 keeps
 * the same rules for REST and upgrades), and their effect on open sockets. The decision itself is
 * src/auth/access.ts: the rule replaces the token's claim, "none" refuses.
 */
import { effectiveAccess, type Rule } from "../auth/access";
import { CloseCode } from "../sync/close-codes";
import { encodeSyncStep1 } from "../sync/frames";
import { toAttachment } from "./attachment";
import type { RoomParts } from "./parts";
import type { Sockets } from "./sockets";

const key = (userId: string) => `access:${userId}`;

export class AccessRules {
  constructor(
    private readonly parts: RoomParts,
    private readonly sockets: Sockets,
  ) {}

  get(userId: string): Rule | undefined {
    const rule = this.parts.store.getMeta(key(userId));
    return rule === "read" || rule === "write" || rule === "none" ? rule : undefined;
  }

  /** Stores `rule` (undefined: removes it) and applies it to the user's open sockets; answers how many it closed or changed. */
  apply(userId: string, rule: Rule | undefined): number {
    if (rule === undefined) this.parts.store.deleteMeta(key(userId));
    else this.parts.store.setMeta(key(userId), rule);
    let touched = 0;
    for (const conn of [...this.sockets.all().values()]) {
      if (conn.userId !== userId) continue;
      const access = effectiveAccess(conn.claim, rule);
      if (access === "none") {
        this.sockets.drop(conn, CloseCode.accessRemoved, "access removed");
        touched++;
        continue;
      }
      if (access === conn.access) continue;
      conn.access = access;
      conn.ws.serializeAttachment(toAttachment(conn, (id) => this.parts.core.awarenessState(id)));
      touched++;
      if (access !== "write") continue;
      // Whatever the client changed while read-only was ignored, and Yjs holds its later edits behind it:
      // a sync step 1 makes the stock client send everything the document lacks, those edits included.
      try {
        conn.ws.send(encodeSyncStep1(this.parts.core.durableStateVector()));
      } catch {
        // The socket is closing; its close handler cleans up.
      }
    }
    return touched;
  }
}
