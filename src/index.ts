import { createApp } from "./app";
import type { Env } from "./env";
import { handleDeliveries } from "./webhooks/consumer";
import type { DeliveryMessage } from "./webhooks/queue";

export { DocRoom } from "./room/doc-room";
export { DocRelay } from "./relay/doc-relay";
export { WebhookRelay } from "./webhooks/relay";

const app = createApp();

/** HTTP through the Hono app; webhook deliveries through the queue consumer (src/webhooks/consumer.ts). */
export default {
  fetch: app.fetch,
  queue: handleDeliveries,
} satisfies ExportedHandler<Env, DeliveryMessage>;
