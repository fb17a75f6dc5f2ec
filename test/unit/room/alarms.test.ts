/** The object's one alarm and its named duties (src/room/alarms.ts), with storage held in memory. */
import { describe, expect, it, vi } from "vitest";
import { ALARM_MIN_AHEAD_MS, ALARM_OVERDUE_MS, Alarm, type AlarmStorage, type Duty, FAILED_DUTY_RETRY_MS } from "../../../src/room/alarms";

class MemoryAlarm implements AlarmStorage {
  reads = 0;
  writes: number[] = [];
  constructor(public stored: number | null = null) {}
  async getAlarm() {
    this.reads++;
    return this.stored;
  }
  async setAlarm(at: number) {
    this.writes.push(at);
    this.stored = at;
  }
  async deleteAlarm() {
    this.stored = null;
  }
}

const duty = (name: string, run: (now: number) => number | Promise<number>): Duty => ({ name, run });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("Alarm", () => {
  it("reads storage once for every request after waking, and writes only when the alarm must come sooner", async () => {
    const storage = new MemoryAlarm(50_000);
    const alarm = new Alarm(storage, [], () => 1_000);
    alarm.request(60_000);
    alarm.request(40_000);
    alarm.request(45_000);
    await settle();
    expect(storage.reads).toBe(1);
    expect(storage.writes).toEqual([40_000]);
    alarm.request(70_000); // later than the one set: a memory compare, nothing written
    await settle();
    expect(storage.writes).toEqual([40_000]);
  });

  it("runs every duty and sets the alarm for the soonest one that wants it", async () => {
    const storage = new MemoryAlarm();
    const ran: string[] = [];
    const alarm = new Alarm(
      storage,
      [duty("a", () => (ran.push("a"), Infinity)), duty("b", () => (ran.push("b"), 30_000)), duty("c", async () => (ran.push("c"), 20_000))],
      () => 10_000,
    );
    await alarm.fire();
    expect(ran).toEqual(["a", "b", "c"]);
    expect(storage.stored).toBe(20_000);
  });

  it("keeps going past a duty that throws, and tries it again soon", async () => {
    const storage = new MemoryAlarm();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const ran: string[] = [];
    const alarm = new Alarm(
      storage,
      [
        duty("broken", () => {
          throw new Error("D1 down");
        }),
        duty("after", () => (ran.push("after"), Infinity)),
      ],
      () => 10_000,
    );
    await alarm.fire();
    expect(ran).toEqual(["after"]);
    expect(storage.stored).toBe(10_000 + FAILED_DUTY_RETRY_MS);
    expect(error.mock.calls[0]?.[1]).toMatchObject({ duty: "broken" });
    error.mockRestore();
  });

  it("never sets the next alarm in the past, and sets none when no duty wants one", async () => {
    const storage = new MemoryAlarm();
    const due = new Alarm(storage, [duty("overdue", () => 5_000)], () => 10_000);
    await due.fire();
    expect(storage.stored).toBe(10_000 + ALARM_MIN_AHEAD_MS);
    const idle = new MemoryAlarm();
    await new Alarm(idle, [duty("done", () => Infinity)], () => 10_000).fire();
    expect(idle.writes).toEqual([]);
  });

  it("takes an alarm long overdue while no handler runs for lost, so the next request sets it again", async () => {
    const storage = new MemoryAlarm(1_000);
    const alarm = new Alarm(storage, []);
    await alarm.schedule(2_000); // reads 1,000: sooner, nothing written
    expect(storage.writes).toEqual([]);
    alarm.changed(1_000 + ALARM_OVERDUE_MS + 1);
    alarm.request(9_000);
    await settle();
    expect(storage.writes).toEqual([9_000]);
  });

  it("clears: no alarm in storage, and the next request sets one", async () => {
    const storage = new MemoryAlarm(5_000);
    const alarm = new Alarm(storage, []);
    await alarm.schedule(4_000);
    await alarm.clear();
    expect(storage.stored).toBeNull();
    alarm.request(8_000);
    await settle();
    expect(storage.stored).toBe(8_000);
  });
});
