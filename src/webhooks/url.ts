/**
 * Where a webhook may point: `https://` anywhere; `http://localhost` and `http://127.0.0.1` (any port)
 * only with DEV_MODE "true", for a receiver on the developer's machine. Pure.
 */
import { err, ok, type Result } from "../result";

export const MAX_URL_LENGTH = 2048;

export function checkWebhookUrl(text: string, devMode: boolean): Result<string, string> {
  if (text.length > MAX_URL_LENGTH) return err(`a webhook url may be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err("the webhook url is not a valid absolute URL");
  }
  if (url.username || url.password) return err("a webhook url may not carry credentials");
  if (url.hash) return err("a webhook url may not have a #fragment");
  if (url.protocol === "https:") return url.hostname ? ok(url.href) : err("the webhook url has no host");
  if (url.protocol === "http:" && devMode && (url.hostname === "localhost" || url.hostname === "127.0.0.1")) return ok(url.href);
  return err(devMode ? "a webhook url must be https:// (or http://localhost / http://127.0.0.1 in DEV_MODE)" : "a webhook url must be https://");
}
