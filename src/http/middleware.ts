/**
 * What the Worker does to every request before any route sees it: refuse to run on weak secrets, answer
 * browsers' CORS preflights, and keep API answers (some carry secrets) out of every cache.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../auth/middleware";
import type { Env } from "../env";
import { AppError } from "../errors";
import { BOOKMARK_HEADER } from "./kit";

/** HS256 wants a key at least as long as its output; an admin token shorter than that is guessable. */
export const MIN_SECRET_BYTES = 32;

/**
 * The development values committed in .dev.vars.example (test/integration/http/http-edges.test.ts checks they
 * match): public, so a deployment that still uses them is as open as one with no secret at all.
 */
export const DEV_SECRETS = {
  ADMIN_TOKEN: "dev-admin-token",
  TOKEN_SECRET: "dev-token-secret-change-me-0123456789abcdef",
} as const;

type SecretName = keyof typeof DEV_SECRETS;

/** What is wrong with each secret, by name; never the value. Empty when both are fine. */
export function weakSecrets(env: Partial<Record<SecretName, string>>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(DEV_SECRETS) as SecretName[]) {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    else if (value === DEV_SECRETS[name]) problems.push(`${name} is the development value from .dev.vars.example`);
    else if (new TextEncoder().encode(value).byteLength < MIN_SECRET_BYTES) problems.push(`${name} is shorter than ${MIN_SECRET_BYTES} bytes`);
  }
  return problems;
}

// Once per isolate (and per distinct problem), so the logs say it without repeating it on every request.
const logged = new Set<string>();

/**
 * Outside DEV_MODE, every request but /healthz answers 500 misconfigured while a secret is missing, short
 * or the public development value: no token is ever signed or checked with such a key. /healthz stays up
 * so a deploy's health check and the test harness can still reach the Worker; it touches no secret.
 */
export const requireStrongSecrets: MiddlewareHandler<AppEnv> = async (c, next) => {
  // The generated Env types DEV_MODE as wrangler.toml's literal "false"; `--var DEV_MODE:true` changes it at run time.
  if ((c.env.DEV_MODE as string) === "true" || c.req.path === "/healthz") return next();
  const problems = weakSecrets(c.env);
  if (problems.length === 0) return next();
  const message = `the server is misconfigured: ${problems.join("; ")}. Set strong secrets with \`wrangler secret put\``;
  if (!logged.has(message)) {
    logged.add(message);
    console.error(message);
  }
  throw new AppError("misconfigured", message);
};

/**
 * CORS_ORIGINS: "*" (the default) or a comma-separated allow-list. "*" is safe here: the API takes bearer
 * tokens, never cookies, so a foreign page gains nothing it could not do with the token anyway; for the
 * same reason Access-Control-Allow-Credentials is never sent.
 */
function allowedOrigin(origin: string, env: Env): string | null {
  // Read without the generated literal type, so a value set with --var or in the dashboard is honoured too.
  const configured = ((env as { CORS_ORIGINS?: string }).CORS_ORIGINS ?? "*").trim();
  if (configured === "" || configured === "*") return "*";
  return configured.split(",").some((o) => o.trim() === origin) ? origin : null;
}

const corsHeaders = cors({
  origin: (origin, c) => allowedOrigin(origin, c.env as Env),
  allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
  // The bookmark is sent back by a client that wants to read its own writes (src/db/session.ts).
  allowHeaders: ["authorization", "content-type", BOOKMARK_HEADER],
  // A browser may read when to retry a 429 and the catalog's bookmark (neither is CORS-safelisted).
  exposeHeaders: ["retry-after", BOOKMARK_HEADER],
  maxAge: 86_400,
});

const isSync = (path: string) => path === "/v1/sync" || path.startsWith("/v1/sync/");

/**
 * CORS for the REST API, answers from onError and notFound included (hono/cors sets its headers on the
 * context's response, which Hono copies onto whatever response follows). Not on /v1/sync: a WebSocket
 * needs no CORS, and touching the context's response first would make Hono copy the 101 response,
 * losing its socket.
 */
export const apiCors: MiddlewareHandler<AppEnv> = (c, next) => (isSync(c.req.path) ? next() : corsHeaders(c, next));

/**
 * `Cache-Control: no-store` on every API answer: project and key creation return secret keys, token
 * routes return tokens, and nothing else under /v1 or /dev is meant to be cached either. A 101 (the
 * WebSocket) is left alone: changing its headers would mean copying it, and the copy has no socket.
 */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status === 101 || c.res.webSocket) return;
  c.header("Cache-Control", "no-store");
};
