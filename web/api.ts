/** The development routes behind the demo (src/routes/dev.ts). Production apps mint tokens on their own server. */
export type Access = "read" | "write";

export interface DocSummary {
  id: string;
  title: string | null;
  createdAt: string;
  updatedAt: string;
  sizeBytes: number;
}

export interface ClientToken {
  token: string;
  expiresAt: string;
  /** The WebSocket URL of the document; the provider takes its base (`…/v1/sync`) and the id. */
  url: string;
  document: DocSummary;
}

/** The server answered 404 on /dev: it does not run in development mode. */
export class DevModeOff extends Error {}

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Every /dev route answers (it creates what is missing), so a 404 means the routes are not there at all.
  if (res.status === 404) throw new DevModeOff();
  if (!res.ok) {
    const err = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new Error(err?.error?.message ?? `${method} ${path}: ${res.status}`);
  }
  return (await res.json()) as T;
}

export const listDocs = () => call<{ data: DocSummary[] }>("GET", "/dev/docs").then((r) => r.data);
export const createDoc = (title?: string) => call<DocSummary>("POST", "/dev/docs", title ? { title } : {});
export const mintToken = (docId: string, userId: string, access: Access) =>
  call<ClientToken>("POST", `/dev/docs/${encodeURIComponent(docId)}/tokens`, { userId, access });
