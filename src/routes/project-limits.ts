/**
 * Per-project caps on collections a secret key can grow, from `wrangler.toml` [vars] like every other
 * limit: a missing, non-numeric or non-positive value keeps the default.
 */
import type { Env } from "../env";

function read(env: Env, name: string, fallback: number): number {
  const n = Number((env as unknown as Record<string, unknown>)[name]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

/** Webhook endpoints a project may have (MAX_WEBHOOKS_PER_PROJECT, default 20). */
export const maxWebhooksPerProject = (env: Env) => read(env, "MAX_WEBHOOKS_PER_PROJECT", 20);

/** Live (not revoked) secret keys a project may have (MAX_KEYS_PER_PROJECT, default 100). */
export const maxKeysPerProject = (env: Env) => read(env, "MAX_KEYS_PER_PROJECT", 100);
