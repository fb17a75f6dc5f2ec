/**
 * A browser-shaped WebSocket for tests inside workerd: opens the socket through the Worker
 * (`SELF.fetch` with an Upgrade header), so an unmodified y-websocket `WebsocketProvider`
 * can use it as its `WebSocketPolyfill`.
 */
import { SELF } from "cloudflare:test";

type Handler<E> = ((event: E) => void) | null;

export class WorkerdWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readyState = 0;
  binaryType = "arraybuffer";
  onopen: Handler<Event> = null;
  onmessage: Handler<{ data: ArrayBuffer | string }> = null;
  onclose: Handler<{ code: number; reason: string; wasClean: boolean }> = null;
  onerror: Handler<Event> = null;
  /** The HTTP status when the upgrade was refused. */
  refusedStatus: number | undefined;
  private ws: WebSocket | undefined;

  constructor(readonly url: string) {
    void this.open();
  }

  private async open(): Promise<void> {
    let res: Response;
    try {
      res = await SELF.fetch(this.url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
    } catch {
      this.fail(1006);
      return;
    }
    const ws = res.webSocket;
    if (!ws) {
      this.refusedStatus = res.status;
      await res.body?.cancel();
      this.fail(1006);
      return;
    }
    this.ws = ws;
    // Current compatibility dates deliver binary messages as Blob unless asked otherwise.
    ws.binaryType = "arraybuffer";
    ws.accept();
    ws.addEventListener("message", (e) => {
      const data = e.data;
      this.onmessage?.({ data: typeof data === "string" ? data : (data as ArrayBuffer) });
    });
    ws.addEventListener("close", (e) => {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
    ws.addEventListener("error", () => this.onerror?.(new Event("error")));
    if (this.readyState === 0) {
      this.readyState = 1;
      this.onopen?.(new Event("open"));
    } else {
      ws.close(1000);
    }
  }

  private fail(code: number): void {
    this.onerror?.(new Event("error"));
    if (this.readyState !== 3) {
      this.readyState = 3;
      this.onclose?.({ code, reason: "", wasClean: false });
    }
  }

  send(data: ArrayBuffer | ArrayBufferView | string): void {
    if (this.readyState !== 1 || !this.ws) throw new Error("socket not open");
    this.ws.send(data as ArrayBuffer);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    if (!this.ws) {
      this.readyState = 3;
      return;
    }
    this.readyState = 2;
    try {
      this.ws.close(code, reason);
    } catch {
      // already closing
    }
    // workerd does not echo our own close to the listener: report it now.
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: true });
  }
}
