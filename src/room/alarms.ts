/**
 * The object's one alarm, shared by named duties (token expiry, webhook sends, the catalog write-back,
 * idle compaction, automatic versions). Each duty runs when the alarm fires and answers when it wants the
 * alarm again (Infinity: not needed); one that throws keeps neither the others from running nor the alarm
 * from being set again.
 *
 * The due time is kept in memory (read from storage once after waking), so a burst of edits that each
 * ask for the alarm costs no storage round trip: an alarm write holds back every outgoing message until
 * it is durable.
 */

export interface AlarmStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export interface Duty {
  readonly name: string;
  /** Does what is due at `now`; answers when it wants the alarm again (Infinity: not needed). */
  run(now: number): number | Promise<number>;
}

/** An alarm this late, with no handler running, is taken for lost and set again by the next change. */
export const ALARM_OVERDUE_MS = 3_000;
/** The alarm a handler sets for its successor is at least this far ahead. */
export const ALARM_MIN_AHEAD_MS = 200;
/** A duty that threw is tried again this soon. */
export const FAILED_DUTY_RETRY_MS = 5_000;

export class Alarm {
  /** When the alarm is due (Infinity: none); undefined until read from storage once. */
  private at: number | undefined;
  /** The one storage read after waking, shared by every request that waits for it. */
  private read: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly storage: AlarmStorage,
    private readonly duties: readonly Duty[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes sure the alarm comes by `at`. A memory compare when it already does, so it may run on every change. */
  request(at: number): void {
    if (this.at !== undefined && at >= this.at) return;
    void this.schedule(at);
  }

  /** Sets the alarm to `at` unless one is due sooner. */
  async schedule(at: number): Promise<void> {
    if (this.at === undefined) {
      // One read for all callers: a second read could return what the storage held before the first
      // caller's write and move the alarm later.
      this.read ??= this.storage.getAlarm().then((stored) => {
        this.at ??= stored ?? Infinity;
      });
      await this.read;
    }
    if (at >= this.at!) return;
    this.at = at;
    await this.storage.setAlarm(at);
  }

  /** On a change: an alarm long overdue while no handler runs was lost (seen locally under load); plan it afresh. */
  changed(now: number): void {
    if (this.at !== undefined && this.at < now - ALARM_OVERDUE_MS && !this.running) this.at = Infinity;
  }

  /** The alarm fired: runs every duty and sets the alarm for the soonest one that wants it. */
  async fire(): Promise<void> {
    this.running = true;
    try {
      this.at = Infinity;
      const now = this.now();
      let next = Infinity;
      for (const duty of this.duties) {
        try {
          next = Math.min(next, await duty.run(now));
        } catch (e) {
          console.error("alarm duty failed; trying again soon", { duty: duty.name, error: e instanceof Error ? e.name : typeof e });
          next = Math.min(next, this.now() + FAILED_DUTY_RETRY_MS);
        }
      }
      // A change during the awaits above may have asked for a sooner alarm (schedule). Set it again
      // here all the same: what the runtime does with an alarm set while its handler runs is not ours to rely on.
      // Never in the past: an alarm due before its own handler has finished is not run again everywhere.
      next = Math.max(Math.min(next, this.at ?? Infinity), this.now() + ALARM_MIN_AHEAD_MS);
      if (next !== Infinity) {
        this.at = next;
        await this.storage.setAlarm(next);
      }
    } finally {
      this.running = false;
    }
  }

  /** The document was erased: no alarm until something asks again. */
  async clear(): Promise<void> {
    this.at = Infinity;
    await this.storage.deleteAlarm();
  }
}
