/**
 * An endpoint's deliveries (secret key only): list them, newest first, and send a failed one again with a
 * fresh retry schedule. Mounted by the endpoint routes (routes.ts), under the same /webhooks/{id}.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireSecretKey } from "../auth/middleware";
import { encodeCursor } from "../cursor";
import { AppError } from "../errors";
import { afterResponse, json, timeCursor } from "../http/kit";
import { createRouter, errors, PageQuery, page, SECURITY } from "../http/openapi";
import { getDelivery, listDeliveries, restartDelivery } from "./queries";
import { recordDeliveries } from "./relay";
import { DeliverySchema, Id, loadHook, Params, toDelivery } from "./shape";

const DeliveryParams = z.object({
  id: Id,
  deliveryId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "deliveryId", in: "path" } }),
});

const listHookDeliveries = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "get",
  path: "/webhooks/{id}/deliveries",
  summary: "An endpoint's deliveries, newest first",
  operationId: "listWebhookDeliveries",
  description: "The endpoint's deliveries, newest first: status, attempts, the last response status and the next attempt.",
  request: { params: Params, query: PageQuery },
  responses: {
    200: {
      description: "One page; nextCursor is null on the last",
      content: json(page(DeliverySchema)),
    },
    ...errors(400, 401, 403, 404),
  },
});

const retryDelivery = createRoute({
  tags: ["webhooks"],
  security: SECURITY.secretKey,
  middleware: [requireSecretKey] as const,
  method: "post",
  path: "/webhooks/{id}/deliveries/{deliveryId}/retry",
  summary: "Deliver a failed delivery again now, with a fresh retry schedule",
  operationId: "retryWebhookDelivery",
  description: "Sends a `failed` delivery again now, with a fresh retry schedule and the same `webhook-id`. 409 if it is not failed or the endpoint is disabled.",
  request: { params: DeliveryParams },
  responses: {
    202: { description: "Queued", content: json(z.object({ deliveryId: z.string() })) },
    ...errors(400, 401, 403, 404, 409),
  },
});

export const deliveryRoutes = createRouter()
  .openapi(listHookDeliveries, async (c) => {
    const hook = await loadHook(c, c.req.valid("param").id);
    const { limit, cursor } = c.req.valid("query");
    const rows = await listDeliveries(c.env.DB, hook.id, { limit, before: timeCursor(cursor) });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1]!) : null;
    return c.json({ data: page.map(toDelivery), nextCursor }, 200);
  })
  .openapi(retryDelivery, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    const hook = await loadHook(c, id);
    const delivery = await getDelivery(c.env.DB, hook.id, deliveryId);
    if (!delivery) throw new AppError("not_found", "no such delivery");
    if (!hook.enabled) throw new AppError("conflict", "the webhook is disabled: enable it first (PATCH enabled: true)");
    await recordDeliveries(c.env, afterResponse(c), hook.projectId, async () => {
      if (!(await restartDelivery(c.env.DB, delivery.id, Date.now())))
        throw new AppError("conflict", `only a failed delivery can be retried (this one is ${delivery.status})`);
      return { deliveries: [delivery.id] };
    });
    return c.json({ deliveryId: delivery.id }, 202);
  });
