/** The pure parts of webhooks: the retry schedule, the throttle, URL rules and Standard Webhooks signing. */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { BACKOFF_SECONDS, GIVE_UP_AFTER_MS, retryDelaySeconds, schedule } from "../../../src/webhooks/backoff";
import { EVENT_TYPES, SUBSCRIBABLE_EVENTS } from "../../../src/webhooks/events";
import { generateWebhookSecret, sign, webhookHeaders } from "../../../src/webhooks/sign";
import { decide } from "../../../src/webhooks/throttle";
import { checkWebhookUrl } from "../../../src/webhooks/url";

const H = 3600;

describe("retry schedule", () => {
  it("is 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 6 h until 3 days have passed", () => {
    const s = schedule();
    expect(s.slice(0, 6)).toEqual([5, 30, 120, 600, 1800, H]);
    expect([...BACKOFF_SECONDS]).toEqual(s.slice(0, 6));
    expect(new Set(s.slice(6))).toEqual(new Set([6 * H]));
    const total = s.reduce((a, b) => a + b, 0) * 1000;
    expect(total).toBeLessThanOrEqual(GIVE_UP_AFTER_MS);
    // One more 6 h step would pass 3 days.
    expect(total + 6 * H * 1000).toBeGreaterThan(GIVE_UP_AFTER_MS);
    expect(s).toHaveLength(6 + 11);
  });

  it("gives up (null) once the next attempt would fall past 3 days, whatever the attempt number", () => {
    expect(retryDelaySeconds(1, 0)).toBe(5);
    expect(retryDelaySeconds(7, 0)).toBe(6 * H);
    expect(retryDelaySeconds(1, GIVE_UP_AFTER_MS)).toBeNull();
    expect(retryDelaySeconds(3, GIVE_UP_AFTER_MS - 60_000)).toBeNull();
    expect(retryDelaySeconds(3, GIVE_UP_AFTER_MS - 120_000)).toBe(120);
  });

  it("scales for tests, never below one second", () => {
    expect(retryDelaySeconds(1, 0, 0.1)).toBe(1);
    expect(retryDelaySeconds(2, 0, 0.1)).toBe(3);
    expect(retryDelaySeconds(6, 0, 0.01)).toBe(36);
  });
});

describe("document.updated throttle", () => {
  const T = 30_000;
  it("sends the first change after a quiet period at once, then at most once per throttle window with the latest change", () => {
    expect(decide(1, { seq: 0, at: 0 }, 1_000_000, T)).toEqual({ kind: "send" });
    // Sent change 1 at t=1000s; changes 2..9 come in: wait until t+30 s.
    expect(decide(9, { seq: 1, at: 1_000_000 }, 1_010_000, T)).toEqual({ kind: "wait", until: 1_030_000 });
    expect(decide(9, { seq: 1, at: 1_000_000 }, 1_030_000, T)).toEqual({ kind: "send" });
    // Nothing new since the last send.
    expect(decide(9, { seq: 9, at: 1_030_000 }, 2_000_000, T)).toEqual({ kind: "idle" });
    // A change long after the last send goes at once.
    expect(decide(10, { seq: 9, at: 1_030_000 }, 2_000_000, T)).toEqual({ kind: "send" });
  });

  it("a burst of N seconds of changes yields at most ceil(N / 30) + 1 events", () => {
    for (const burstSeconds of [1, 29, 30, 31, 90, 91, 300]) {
      let sent = { seq: 0, at: 0 };
      let seq = 0;
      let events = 0;
      const start = 1_000_000;
      // A change every 100 ms; the object looks 1 s after a change when nothing is planned, else when the throttle says.
      let plannedAt = Infinity;
      for (let t = start; t <= start + (burstSeconds + 60) * 1000; t += 100) {
        if (t <= start + burstSeconds * 1000) {
          seq++;
          if (plannedAt === Infinity) plannedAt = t + 1000;
        }
        if (t >= plannedAt) {
          const d = decide(seq, sent, t, T);
          plannedAt = Infinity;
          if (d.kind === "send") {
            events++;
            sent = { seq, at: t };
            plannedAt = t + T; // see whether more came
          } else if (d.kind === "wait") plannedAt = d.until;
        }
      }
      expect(sent.seq, `${burstSeconds}s: the last event carries the last change`).toBe(seq);
      expect(events, `${burstSeconds}s`).toBeLessThanOrEqual(Math.ceil(burstSeconds / 30) + 1);
    }
  });
});

describe("webhook urls", () => {
  // The public-host rule in every notation: test/unit/webhooks/url.test.ts.
  it("https to a public host; http only to loopback in DEV_MODE", () => {
    expect(checkWebhookUrl("https://example.com/hook?x=1", false)).toEqual({ ok: true, value: "https://example.com/hook?x=1" });
    expect(checkWebhookUrl("https://EXAMPLE.com", false)).toEqual({ ok: true, value: "https://example.com/" });
    for (const bad of [
      "http://example.com",
      "http://localhost:3000/h",
      "http://127.0.0.1/h",
      "ftp://x.y",
      "javascript:alert(1)",
      "//x.y",
      "x",
      "",
      "https://u:p@x.y",
      "https://x.y/#frag",
    ]) {
      expect(checkWebhookUrl(bad, false).ok, bad).toBe(false);
    }
    expect(checkWebhookUrl("http://localhost:3000/h", true).ok).toBe(true);
    expect(checkWebhookUrl("http://127.0.0.1:9/h", true).ok).toBe(true);
    for (const good of ["http://127.0.0.2/", "http://[::1]/", "https://localhost/"]) expect(checkWebhookUrl(good, true).ok, good).toBe(true);
    for (const bad of ["http://example.com", "http://localhost.evil.com/", "https://10.0.0.1/"]) expect(checkWebhookUrl(bad, true).ok, bad).toBe(false);
    expect(checkWebhookUrl(`https://x.y/${"a".repeat(3000)}`, false).ok).toBe(false);
  });
});

describe("events", () => {
  it("webhook.test is not subscribable; every other type is", () => {
    expect(SUBSCRIBABLE_EVENTS).toEqual(EVENT_TYPES.filter((t) => t !== "webhook.test"));
    expect(EVENT_TYPES).toContain("document.updated");
  });
});

describe("Standard Webhooks signing", () => {
  it("verifies with the standardwebhooks package; a changed body, id or timestamp does not", async () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: "webhook.test", timestamp: new Date().toISOString(), data: {} });
    const ts = Math.floor(Date.now() / 1000);
    const headers = await webhookHeaders([secret], "msg_1", ts, body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const wh = new Webhook(secret);
    expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => wh.verify(body.replace("test", "tesT"), headers)).toThrow();
    expect(() => wh.verify(body, { ...headers, "webhook-id": "msg_2" })).toThrow();
    expect(() => wh.verify(body, { ...headers, "webhook-timestamp": String(ts + 1) })).toThrow();
    // The package's own signature is the same bytes.
    expect(wh.sign("msg_1", new Date(ts * 1000), body)).toBe(await sign(secret, "msg_1", ts, body));
  });

  it("during a rotation both secrets sign; either verifies", async () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const body = "{}";
    const headers = await webhookHeaders([b, a], "msg_r", Math.floor(Date.now() / 1000), body);
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    new Webhook(a).verify(body, headers);
    new Webhook(b).verify(body, headers);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
  });
});
