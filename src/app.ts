import { z } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, ERROR_STATUS, errorResponse, type ErrorCode } from "./errors";
import { apiCors, noStore, requireStrongSecrets } from "./http/middleware";
import { demoProjectInDevMode, devRoutes } from "./routes/dev";
import { contentRoutes } from "./documents/content-routes";
import { docRoutes } from "./documents/routes";
import { keyRoutes } from "./routes/keys";
import { createRouter, declareRateLimits, errors, registerSecuritySchemes } from "./http/openapi";
import { projectRoutes } from "./routes/projects";
import { syncRoutes } from "./routes/sync";
import { tokenRoutes } from "./routes/tokens";
import { workspaceTokenRoutes } from "./routes/workspace-tokens";
import { accessRoutes } from "./access/routes";
import { versionRoutes } from "./versions/routes";
import { registerWebhookEvents, webhookRoutes } from "./webhooks/routes";

const CODE_BY_STATUS = new Map<number, ErrorCode>((Object.entries(ERROR_STATUS) as [ErrorCode, ContentfulStatusCode][]).map(([code, status]) => [status, code]));

/** Where the reference page loads Scalar from: a copy in the Worker's own assets (scripts/build-web.mjs). */
const SCALAR_SCRIPT = "/build/scalar/api-reference.js";

export function createApp() {
  const app = createRouter();
  // Before every route, in this order: CORS (so a browser can read even the refusal below), the refusal to
  // serve on weak secrets (before any handler could sign or check a token with one), then no-store.
  app.use("/v1/*", apiCors);
  app.use("*", requireStrongSecrets);
  app.use("/v1/*", noStore);
  app.use("/v1/*", demoProjectInDevMode);
  app.use("/dev/*", noStore);
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route("/v1", projectRoutes);
  app.route("/v1", keyRoutes);
  app.route("/v1", docRoutes);
  app.route("/v1", contentRoutes);
  app.route("/v1", versionRoutes);
  app.route("/v1", tokenRoutes);
  app.route("/v1", workspaceTokenRoutes);
  app.route("/v1", accessRoutes);
  app.route("/v1", webhookRoutes);
  app.route("/v1/sync", syncRoutes);
  app.route("/dev", devRoutes); // 404s unless DEV_MODE is "true"
  registerSyncDoc(app);
  registerWebhookEvents(app); // the OpenAPI 3.1 `webhooks` section: every event Lattice sends
  registerSecuritySchemes(app);

  // What app.doc31 would serve, plus the 429 that every rate-limited operation can answer.
  app.get("/openapi.json", (c) =>
    c.json(
      declareRateLimits(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "Lattice",
            version: "1.0.0",
            description: "Real-time Yjs sync back end: REST for the web app's server, a y-websocket endpoint for browsers.",
          },
          servers: [{ url: new URL(c.req.url).origin }],
        }),
      ),
    ),
  );
  // Everything the page needs comes from this origin (no third-party script or font, and it works offline);
  // Scalar's hosted AI chat, which would send the document to Scalar, is off. So are the parts that sell Scalar's
  // hosted services, which this server does not offer: the developer tools bar ("Deploy on Scalar") and the
  // "Generate SDKs & MCP" card, both shown on localhost by default. Requests made from the page use the secret
  // key scheme unless the reader picks another.
  app.get(
    "/reference",
    Scalar({
      url: "/openapi.json",
      pageTitle: "Lattice API reference",
      cdn: SCALAR_SCRIPT,
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: "never",
      authentication: { preferredSecurityScheme: "secretKey" },
    }),
  );

  app.notFound(() => errorResponse("not_found", "no such route"));
  app.onError((e) => {
    if (e instanceof AppError) return Response.json(e.toBody(), { status: e.status, headers: e.headers });
    // Hono's own refusals (malformed JSON, a body media type the route does not take) keep their status.
    if (e instanceof HTTPException && e.status < 500) {
      return errorResponse(CODE_BY_STATUS.get(e.status) ?? "invalid_request", e.message || "invalid request");
    }
    // Never a stack, SQL or secret in the body; the log line names the error type only.
    console.error("unhandled error", e instanceof Error ? e.name : typeof e);
    return errorResponse("internal", "internal error");
  });
  return app;
}

/** The sync handler is plain Hono (src/routes/sync.ts); this documents it in /openapi.json. */
function registerSyncDoc(app: ReturnType<typeof createRouter>): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v1/sync/{docId}",
    summary: "y-websocket connection for one document",
    operationId: "connectSync",
    description:
      "Speaks the standard y-websocket protocol (sync, awareness, query-awareness). Use " +
      '`new WebsocketProvider(base + "/v1/sync", docId, ydoc, { params: { token } })`.',
    tags: ["sync"],
    request: {
      params: z.object({ docId: z.string().openapi({ param: { name: "docId", in: "path" }, example: "my-doc" }) }),
      query: z.object({
        token: z.string().openapi({ param: { name: "token", in: "query" }, description: "A client token for this document" }),
      }),
    },
    responses: {
      101: { description: "Switching protocols: the WebSocket is open" },
      ...errors(401, 403, 404, 426),
    },
  });
}
