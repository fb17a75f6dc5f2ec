/** Webhook helpers for tests in workerd: endpoints pointing at the host's receiver (test/webhook-receiver.ts). */
import { createExecutionContext, env } from "cloudflare:test";
import { expect, inject } from "vitest";
import { createApp } from "../../src/app";
import { authHeaders, BASE, expectJson } from "./rest";
import { eventually } from "./eventually";

export { eventually };

export interface CreatedWebhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
  secret: string;
}

export interface Delivery {
  id: string;
  event: string;
  createdAt: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  nextAttemptAt: string | null;
}

export interface ReceivedRequest {
  at: number;
  headers: Record<string, string>;
  body: string;
  status: number;
}

let counter = 0;
/** A fresh name on the receiver: `/hook/{name}` gets the deliveries, `/control/{name}` tells what came. */
export const receiverName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${counter++}`;
export const hookUrl = (name: string) => `${inject("webhookReceiver")}/hook/${name}`;

/** The receiver answers these statuses first, then 200. */
export async function planAnswers(name: string, statuses: number[]): Promise<void> {
  await fetch(`${inject("webhookReceiver")}/control/${name}`, { method: "POST", body: JSON.stringify({ statuses }) });
}

export async function received(name: string): Promise<ReceivedRequest[]> {
  return (await fetch(`${inject("webhookReceiver")}/control/${name}`)).json();
}

/**
 * The app as `npm run dev` runs it (DEV_MODE "true"), so an endpoint may be http://127.0.0.1: the only
 * receiver a test can run. Everything after creation goes through the Worker as usual.
 */
const devApp = createApp();
export async function createWebhook(secretKey: string, body: { url: string; events: string[]; description?: string }): Promise<CreatedWebhook> {
  const res = await devApp.fetch(
    new Request(`${BASE}/v1/webhooks`, { method: "POST", headers: { ...authHeaders(secretKey), "content-type": "application/json" }, body: JSON.stringify(body) }),
    { ...env, DEV_MODE: "true" } as unknown as typeof env,
    createExecutionContext(),
  );
  return expectJson<CreatedWebhook>(res, 201);
}

export async function waitForRequests(name: string, n: number, timeout = 20_000): Promise<ReceivedRequest[]> {
  return eventually(async () => {
    const got = await received(name);
    expect(got.length).toBeGreaterThanOrEqual(n);
    return got;
  }, timeout);
}
