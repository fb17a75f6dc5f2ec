import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { AppError, errorResponse } from "./errors";
import { syncRoutes } from "./routes/sync";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route("/v1/sync", syncRoutes);
  app.notFound(() => errorResponse("not_found", "no such route"));
  app.onError((e) => {
    if (e instanceof AppError) return Response.json(e.toBody(), { status: e.status });
    if (e instanceof HTTPException && e.status < 500) return errorResponse(e.status === 401 ? "unauthorized" : "invalid_request", e.message);
    // Never a stack, SQL or secret in the body; the log line names the error type only.
    console.error("unhandled error", e instanceof Error ? e.name : typeof e);
    return errorResponse("internal", "internal error");
  });
  return app;
}
