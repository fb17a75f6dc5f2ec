/** What every feature router shares: the validation hook, the error envelope schema, security schemes. */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware";
import { AppError, ERROR_STATUS, type ErrorCode } from "../errors";
import type { RootKind } from "../versions/to-json";

/** `?limit=&cursor=`: every paged list (cursors are opaque; `nextCursor` of the previous page). */
export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" }, example: 20 }),
  cursor: z
    .string()
    .max(256)
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "nextCursor of the previous page" }),
});

/** One page of a list: `{data, nextCursor}`, `nextCursor` null on the last. */
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/** A Yjs v1 update as a request or response body. */
export const yjsUpdate = { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } };

/** `?types=`: root kinds for the JSON rendering (a document's, a version's). */
export const JsonQuery = z.object({
  types: z
    .string()
    .max(8192)
    .optional()
    .openapi({ param: { name: "types", in: "query" }, description: "name:kind,… with kind one of text, map, array, xml", example: "content:xml,title:text" }),
});

const MAX_TYPES = 64;

/** `name:kind,…` → kinds; 400 for anything else. */
export function parseTypes(text: string | undefined): Map<string, RootKind> {
  // A Map, not an object: a root may be named `__proto__` or `constructor`.
  const kinds = new Map<string, RootKind>();
  if (text === undefined || text === "") return kinds;
  const parts = text.split(",");
  if (parts.length > MAX_TYPES) throw new AppError("invalid_request", `at most ${MAX_TYPES} types`);
  for (const part of parts) {
    const m = /^([^:,]{1,256}):(text|map|array|xml)$/.exec(part);
    if (!m) throw new AppError("invalid_request", "types is name:kind,… with kind one of text, map, array, xml", { types: part });
    kinds.set(m[1]!, m[2] as RootKind);
  }
  return kinds;
}

/** What the message calls each part of a request that a route validates. */
const PART: Record<string, string> = { json: "body", query: "query", param: "path", header: "header", form: "form", cookie: "cookie" };
/** Issues spelled out in the message; every one is in `details`. */
const ISSUES_IN_MESSAGE = 3;

/**
 * A router whose validation failures become 400 invalid_request: the message names the part, the field and
 * what is wrong (`invalid body: url: Invalid URL`), and `details` has every zod issue.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ code: i.code, path: i.path.map(String), message: i.message }));
        const said = issues.slice(0, ISSUES_IN_MESSAGE).map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message));
        const more = issues.length > ISSUES_IN_MESSAGE ? `; and ${issues.length - ISSUES_IN_MESSAGE} more (details)` : "";
        throw new AppError("invalid_request", `invalid ${PART[result.target] ?? result.target}: ${said.join("; ")}${more}`, issues);
      }
    },
  });
}

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (zod issues in `details`)",
  401: "No credential, or one that is not valid (garbage, bad signature, expired, revoked)",
  403: "A valid credential of the wrong kind for this route",
  404: "No such document (or not in the caller's project)",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  426: "Not a WebSocket request",
  429: "Too many requests for this credential (the RATE_LIMITER budget); slow down and retry",
};

/** OpenAPI response entries for the given error statuses, all with the contract's envelope. */
export function errors<S extends keyof typeof DESCRIPTIONS>(...statuses: S[]) {
  const out = {} as Record<S, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
  for (const s of statuses) out[s] = { description: DESCRIPTIONS[s]!, content: { "application/json": { schema: ErrorSchema } } };
  return out;
}

type OpenAPIDocument = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * Adds 429 to every operation that names a security scheme. Those are exactly the ones behind
 * src/auth/middleware.ts, which counts each call against RATE_LIMITER; done here, on the finished
 * document, so no route can forget it. (/v1/sync/{docId} takes its token in the query, names no scheme,
 * and is not rate limited per request.)
 */
export function declareRateLimits(doc: OpenAPIDocument): OpenAPIDocument {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op?.security?.length) continue;
      op.responses ??= {};
      op.responses["429"] ??= {
        description: DESCRIPTIONS[429]!,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
  }
  return doc;
}

type Security = Record<string, string[]>[];
export const SECURITY: Record<"admin" | "secretKey" | "docAccess", Security> = {
  admin: [{ adminToken: [] }],
  secretKey: [{ secretKey: [] }],
  docAccess: [{ secretKey: [] }, { clientToken: [] }],
};

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The operator's ADMIN_TOKEN secret: creates projects, nothing else.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "secretKey", {
    type: "http",
    scheme: "bearer",
    description: "A project secret key `sk_…`, for the web app's own server.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "clientToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A client token from POST /v1/docs/{id}/tokens: one document, one user, read or write.",
  });
}
