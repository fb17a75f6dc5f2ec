/** The webhook knobs from `wrangler.toml` [vars]; the test-only ones count only with DEV_MODE "true". */
import { type Env, vars as varsOf } from "../env";

export interface WebhookSettings {
  /** At most one `document.updated` per document and endpoint this often (WEBHOOK_THROTTLE_SECONDS, default 30). */
  throttleMs: number;
  /** Multiplies the retry schedule (WEBHOOK_BACKOFF_SCALE); always 1 unless DEV_MODE is "true". */
  backoffScale: number;
  /** Leave new deliveries unqueued, for the relay (WEBHOOK_TEST_HOLD_ENQUEUE, DEV_MODE only): the crash test's kill window. */
  holdEnqueue: boolean;
  devMode: boolean;
}

export function readWebhookSettings(env: Env): WebhookSettings {
  const vars = varsOf(env);
  const devMode = vars.DEV_MODE === "true";
  const num = (name: string, fallback: number) => {
    const n = Number(vars[name]);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    throttleMs: num("WEBHOOK_THROTTLE_SECONDS", 30) * 1000,
    backoffScale: devMode ? num("WEBHOOK_BACKOFF_SCALE", 1) : 1,
    holdEnqueue: devMode && vars.WEBHOOK_TEST_HOLD_ENQUEUE === "true",
    devMode,
  };
}
