/**
 * A webhook receiver on the host (Node http), for tests in workerd and end to end: `/hook/{name}` answers
 * with the statuses configured for `name` (then 200), records every request; `/control/{name}` configures
 * (POST `{statuses}`) and reads (GET) what arrived.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";

export interface Received {
  at: number;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface Receiver {
  url: string;
  server: Server;
  received(name: string): Received[];
  answer(name: string, statuses: number[]): void;
  close(): Promise<void>;
}

const read = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (data += d));
    req.on("end", () => resolve(data));
  });

export function startReceiver(port = 0): Promise<Receiver> {
  const log = new Map<string, Received[]>();
  const plans = new Map<string, number[]>();
  const server = createServer(async (req, res) => {
    const body = await read(req);
    const [, kind, name = ""] = /^\/(hook|control)\/([^/?]+)/.exec(req.url ?? "") ?? [];
    if (kind === "control") {
      if (req.method === "POST") plans.set(name, (JSON.parse(body) as { statuses: number[] }).statuses);
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(log.get(name) ?? []));
    }
    if (kind !== "hook") {
      res.writeHead(404);
      return res.end();
    }
    const status = plans.get(name)?.shift() ?? 200;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const list = log.get(name) ?? [];
    list.push({ at: Date.now(), headers, body, status });
    log.set(name, list);
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status === 200 ? "ok" : "no");
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`;
      resolve({
        url,
        server,
        received: (name) => log.get(name) ?? [],
        answer: (name, statuses) => plans.set(name, [...statuses]),
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
