/**
 * Every close code the sync endpoint sends, chosen against the stock y-websocket 3 client's rule:
 * its default `shouldReconnect` treats 4400–4499 as permanent (no reconnect, a `closed` event, unsent
 * edits stay in the tab) and retries every other code with backoff and a full re-sync.
 *
 * So a refusal that the same client would repeat on every reconnect (a message that can never fit, an
 * expired token, a deleted document) is in 4400–4499, and a refusal that passes with time (a budget, a
 * full room) is outside it: the client comes back and re-syncs with nothing lost.
 * docs/API.md has the table, with what an app should do for each.
 */
import type { ApplyOutcome } from "./ports";

export const CloseCode = {
  // Transient: the stock client reconnects with backoff and sends what the server lacks.
  /** The contract's code for a frame that cannot be decoded (a stock client never sends one). */
  protocolError: 1002,
  /** The contract's code for a text frame (other than the keep-alive `ping`). */
  unsupportedData: 1003,
  /** The contract's code for a frame over `MAX_FRAME_BYTES` (default: the platform's 32 MiB). */
  tooBig: 1009,
  /** The server failed to store an update: nothing of it was kept or sent; retrying is safe. */
  internalError: 1011,
  /** A budget is spent or the room is full: try again later (rate limits, connection cap). */
  tryAgainLater: 1013,

  // Permanent: the stock client stops and emits `closed` with the code and reason.
  /** The token expired: the app mints a new one and calls `provider.connect()`. */
  tokenExpired: 4401,
  /**
   * The key that minted the token was revoked (reason "key revoked"). The same code as an expired token on
   * purpose: the remedy is the same (a new token, minted with a live key), and clients that refresh on 4401
   * (`@lattice-sync/client`) need nothing new.
   */
  keyRevoked: 4401,
  /**
   * The user's access to the document was removed (PUT …/access/{userId} with "none"): a new token does not
   * help until the rule changes, so the client stops (`@lattice-sync/client` reports it as `forbidden`).
   */
  accessRemoved: 4403,
  /** The document was deleted. */
  documentDeleted: 4404,
  /**
   * The message can never be accepted: it would take the document past `MAX_DOC_BYTES` or
   * `MAX_DOC_ITEM_UNITS`, or an awareness state (or a connection's awareness ids) is over its limit.
   */
  tooLarge: 4413,
  /** The update introduces more new Yjs client ids than this connection may. */
  tooManyClientIds: 4422,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** True for the codes y-websocket 3's default `shouldReconnect` does not retry. */
export const isPermanent = (code: number): boolean => code >= 4400 && code < 4500;

export interface CloseRequest {
  code: number;
  reason: string;
}

/** How a socket is closed when the room refuses its update (RoomCore.applyUpdate's outcome code). */
export function closeForRefusal(code: Extract<ApplyOutcome, { ok: false }>["code"]): CloseRequest | undefined {
  switch (code) {
    case "invalid_update":
      return { code: CloseCode.protocolError, reason: "invalid update" };
    case "too_large":
      return { code: CloseCode.tooLarge, reason: "document size limit reached" };
    case "too_many_client_ids":
      return { code: CloseCode.tooManyClientIds, reason: "too many new client ids" };
    case "rate_limited":
      return { code: CloseCode.tryAgainLater, reason: "over the rate budget: try again later" };
  }
  return undefined;
}
