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

async function call<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
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
/** Sets the document's title (the list's name for it); an empty one clears it. */
export const renameDoc = (docId: string, title: string) => call<DocSummary>("PATCH", `/dev/docs/${encodeURIComponent(docId)}`, { title });
export const mintToken = (docId: string, userId: string, access: Access) =>
  call<ClientToken>("POST", `/dev/docs/${encodeURIComponent(docId)}/tokens`, { userId, access });
/** A workspace token on the document and every id under "{docId}." (its subdocuments), creating them on first open. */
export const mintWorkspaceToken = (docId: string, userId: string) =>
  call<Omit<ClientToken, "url">>("POST", `/dev/docs/${encodeURIComponent(docId)}/workspace-tokens`, { userId });

// ---------------------------------------------------------------- version history (issue 15)

export type VersionKind = "named" | "auto" | "before-restore";

export interface Version {
  id: string;
  name: string | null;
  kind: VersionKind;
  createdAt: string;
  createdBy: string | null;
  sizeBytes: number;
}

export interface VersionPage {
  data: Version[];
  nextCursor: string | null;
}

/** A non-2xx answer of the REST API, with the error envelope's code and message when it had one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The document's REST API (`/v1/docs/{id}/…`) with the page's own client token: what a browser app may call. */
export class DocApi {
  constructor(
    private readonly docId: string,
    private readonly token: () => Promise<string>,
  ) {}

  private async call<T>(method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`/v1/docs/${encodeURIComponent(this.docId)}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) {
      const err = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new ApiError(res.status, err?.error?.code, err?.error?.message ?? `${method} ${path}: ${res.status}`);
    }
    return (await res.json()) as T;
  }

  listVersions(opts: { limit?: number; cursor?: string } = {}): Promise<VersionPage> {
    const q = new URLSearchParams();
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.cursor) q.set("cursor", opts.cursor);
    const query = q.toString();
    return this.call("GET", `/versions${query ? `?${query}` : ""}`);
  }

  createVersion(name?: string): Promise<Version> {
    return this.call("POST", "/versions", name ? { name } : {});
  }

  /** The version's content, rendered like `GET /v1/docs/{id}/json`: root name → JSON value. */
  versionJson(versionId: string): Promise<Record<string, unknown>> {
    return this.call("GET", `/versions/${encodeURIComponent(versionId)}/json`);
  }

  restoreVersion(versionId: string): Promise<{ restoredFrom: string; before: string }> {
    return this.call("POST", `/versions/${encodeURIComponent(versionId)}/restore`);
  }

  renameVersion(versionId: string, name: string): Promise<Version> {
    return this.call("PATCH", `/versions/${encodeURIComponent(versionId)}`, { name });
  }
}
