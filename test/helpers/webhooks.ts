/** Webhook helpers for tests in workerd: endpoints pointing at the host's receiver (test/webhook-receiver.ts). */
import { expect, inject } from "vitest";
import { api, expectJson } from "./rest";
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
/**
 * An endpoint URL the public-host rule accepts; vitest.config.ts's outboundService hands `/hook/…` on the
 * receiver's port to the receiver (test/webhook-receiver.ts). `host` puts another host in front of it.
 */
export const hookUrl = (name: string, host = "webhook-receiver.example.com") => `https://${host}:${new URL(inject("webhookReceiver")).port}/hook/${name}`;

/** The receiver answers these statuses first, then 200. */
export async function planAnswers(name: string, statuses: number[]): Promise<void> {
  await fetch(`${inject("webhookReceiver")}/control/${name}`, { method: "POST", body: JSON.stringify({ statuses }) });
}

export async function received(name: string): Promise<ReceivedRequest[]> {
  return (await fetch(`${inject("webhookReceiver")}/control/${name}`)).json();
}

export async function createWebhook(secretKey: string, body: { url: string; events: string[]; description?: string }): Promise<CreatedWebhook> {
  return expectJson<CreatedWebhook>(await api("/v1/webhooks", { token: secretKey, json: body }), 201);
}

export async function waitForRequests(name: string, n: number, timeout = 20_000): Promise<ReceivedRequest[]> {
  return eventually(async () => {
    const got = await received(name);
    expect(got.length).toBeGreaterThanOrEqual(n);
    return got;
  }, timeout);
}
