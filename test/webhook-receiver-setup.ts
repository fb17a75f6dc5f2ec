import type { TestProject } from "vitest/node";
import { startReceiver } from "./webhook-receiver";

/** Tests in workerd cannot listen: the receiver runs here, on the host, and they reach it by URL. */
export default async function setup(project: TestProject) {
  const receiver = await startReceiver();
  project.provide("webhookReceiver", receiver.url);
  return () => receiver.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    webhookReceiver: string;
  }
}
