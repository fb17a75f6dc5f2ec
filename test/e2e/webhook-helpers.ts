/** REST calls the webhook end-to-end tests share: a project, an endpoint, its deliveries; against a real `wrangler dev`. */
import { E2E_ADMIN_TOKEN } from "./harness";

export async function call<T = any>(base: string, path: string, init: { method?: string; token?: string; json?: unknown; status?: number } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  const want = init.status ?? (init.method === "POST" || (init.method === undefined && init.json !== undefined) ? 201 : 200);
  if (res.status !== want) throw new Error(`${init.method ?? "GET"} ${path}: expected ${want}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function newProject(base: string, name: string): Promise<{ id: string; secretKey: string }> {
  return call(base, "/v1/projects", { token: E2E_ADMIN_TOKEN, json: { name } });
}

export async function newWebhook(base: string, secretKey: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  return call(base, "/v1/webhooks", { token: secretKey, json: { url, events } });
}

export interface DeliveryView {
  id: string;
  event: string;
  status: string;
  attempts: number;
  lastResponseStatus: number | null;
}

export async function deliveriesOf(base: string, secretKey: string, webhookId: string): Promise<DeliveryView[]> {
  return (await call<{ data: DeliveryView[] }>(base, `/v1/webhooks/${webhookId}/deliveries?limit=100`, { token: secretKey })).data;
}
