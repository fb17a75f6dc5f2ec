/**
 * The keys a document's object has been told are revoked (DocRoom.revokeKey), kept in its storage so a
 * socket whose frames are still queued, or an upgrade that passed the Worker's D1 check just before the
 * revocation, is refused after the object was told, even across eviction. An entry is needed only while a
 * token the key minted can still be valid: client tokens live at most 24 h (POST …/tokens `expiresIn`).
 */
import type { UpdateStore } from "../sync/ports";

const META = "revokedKeys";
/** Longer than any client token lives (24 h), with an hour to spare for clock skew. */
export const REVOKED_KEY_MEMORY_MS = 25 * 3600 * 1000;

export class RevokedKeys {
  private keys: Map<string, number> | undefined;

  constructor(private readonly store: Pick<UpdateStore, "getMeta" | "setMeta">) {}

  has(keyId: string): boolean {
    return this.load().has(keyId);
  }

  /** Remembers the key (and forgets keys revoked longer ago than any of their tokens can live). */
  add(keyId: string, now: number): void {
    const keys = this.load();
    for (const [id, at] of keys) if (now - at > REVOKED_KEY_MEMORY_MS) keys.delete(id);
    if (!keys.has(keyId)) keys.set(keyId, now);
    this.store.setMeta(META, JSON.stringify([...keys]));
  }

  /** Every key remembered (sent to a relay when its link opens). */
  list(): string[] {
    return [...this.load().keys()];
  }

  private load(): Map<string, number> {
    if (!this.keys) {
      const raw = this.store.getMeta(META);
      this.keys = new Map(raw ? (JSON.parse(raw) as [string, number][]) : []);
    }
    return this.keys;
  }
}
