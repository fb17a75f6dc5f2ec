/**
 * The relays a relay feeds (a tree: relays past RELAY_TREE_WIDTH get their feed from one of the first
 * ones). Everything this relay applies is numbered again in its own ring and passed down each child's feed
 * link; a child's `since` is answered by the same rule the document's object uses (sync/relay-feed.ts), from
 * this relay's replica, once it is current. Writes, presence and control do not pass here: a child keeps its
 * own link to the document's object for those.
 */
import type * as Y from "yjs";
import { catchUp, FeedRing } from "../sync/relay-feed";
import { decodeLink, encodeLink } from "../sync/relay-wire";

/** A feed child's socket attachment: its relay index. */
interface ChildAttachment {
  f: number;
}

export const isChildAttachment = (a: unknown): a is ChildAttachment => typeof a === "object" && a !== null && "f" in a;

const TAG = "feed";

export class FeedChildren {
  /** A new epoch per life of this relay: a child that hears another one asks again. */
  private readonly ring = new FeedRing(crypto.randomUUID());

  constructor(private readonly ctx: DurableObjectState) {}

  list(): WebSocket[] {
    return this.ctx.getWebSockets(TAG);
  }

  has(ws: WebSocket): boolean {
    try {
      return this.ctx.getTags(ws).includes(TAG);
    } catch {
      // A socket this object did not accept for hibernation (one closed at once): not a child's.
      return false;
    }
  }

  /** A child relay opens its feed link. */
  accept(childIndex: number): Response {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [TAG]);
    server.serializeAttachment({ f: childIndex } satisfies ChildAttachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** An update this relay applied (committed at the document's object): numbered, to every child. */
  passOn(update: Uint8Array): void {
    const { seq } = this.ring.push(update);
    const children = this.list();
    if (children.length === 0) return;
    const bytes = encodeLink({ type: "feed", epoch: this.ring.epoch, seq, update });
    for (const ws of children) send(ws, bytes);
  }

  /** A child's message: only `since` is expected here; answered once this relay's replica is current. */
  async answer(ws: WebSocket, bytes: Uint8Array, current: () => Promise<Y.Doc>): Promise<void> {
    const decoded = decodeLink(bytes);
    if (!decoded.ok || decoded.value.type !== "since") {
      console.error("relay feed link: unexpected message", { error: decoded.ok ? decoded.value.type : decoded.error });
      return;
    }
    const m = decoded.value;
    let doc: Y.Doc;
    try {
      doc = await current();
    } catch {
      // No feed here either: the child's link closes, and it links again (its alarm).
      ws.close(1011, "parent relay not current");
      return;
    }
    send(ws, encodeLink({ type: "catchUp", ...catchUp(this.ring, doc, m.epoch, m.seq, m.stateVector, m.fresh) }));
  }
}

function send(ws: WebSocket, bytes: Uint8Array): void {
  try {
    ws.send(bytes);
  } catch {
    // closing
  }
}
