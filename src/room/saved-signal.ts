/**
 * The saved signal (message 100): after a commit with updates, every connection that asked (`saved=1`)
 * learns the durable state vector. A large room coalesces these like presence changes
 * (presence-pacing.ts): one send per connection per gap, not one per commit.
 */
import { encodeSaved } from "../sync/frames";
import { realClock } from "../sync/ports";
import { pacing } from "../sync/presence-pacing";
import type { Conn } from "./attachment";

export class SavedSignal {
  /** The signal waiting for its send in a large room, and the timer that sends it. */
  private pending: Uint8Array | undefined;
  private cancel: (() => void) | undefined;

  constructor(
    private readonly conns: () => Map<WebSocket, Conn>,
    private readonly durableStateVector: () => Uint8Array,
  ) {}

  /** After a commit with updates. */
  committed(): void {
    const conns = this.conns();
    let asked = false;
    for (const conn of conns.values()) if (conn.saved) asked = true;
    if (!asked) return;
    // Captured now: when it goes out, later updates may be pending and must not be called saved.
    this.pending = encodeSaved(this.durableStateVector());
    const gap = pacing(conns.size).changeGapMs;
    if (gap === 0) return this.send();
    this.cancel ??= realClock.setTimer(gap, () => {
      this.cancel = undefined;
      this.send();
    });
  }

  reset(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.pending = undefined;
  }

  private send(): void {
    const message = this.pending;
    this.pending = undefined;
    if (!message) return;
    for (const conn of this.conns().values()) {
      if (!conn.saved) continue;
      try {
        conn.ws.send(message);
      } catch {
        // The socket is closing; its close handler cleans up.
      }
    }
  }
}
