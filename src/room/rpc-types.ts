/** The contract between the Worker and a document's Durable Object: the typed RPC surface and the upgrade headers. */

/** Names the document an object holds; passed on every call so the object can write its catalog row back. */
export interface DocRef {
  projectId: string;
  docId: string;
  /** Which creation of the id (see documents.incarnation); "" or absent for documents older than incarnations. */
  incarnation?: string;
}

import type { Access } from "../sync/ports";

export type { RootKind } from "../versions/to-json";

export type { VersionMeta, VersionPage } from "../versions/store";
export type { VersionKind } from "../versions/policy";

export type { Outcome, Refusal } from "./outcome";

export interface Presence {
  connections: number;
  users: { userId: string; access: Access; clientIds: number[] }[];
}

/** Who reads, for read budgets: a client token's user and access (a secret key reads as the application, unbudgeted). */
export interface Reader {
  userId: string;
  access: Access;
}

/** Headers the Worker sets on the upgrade request it forwards, after checking the token. */
export const IdentityHeader = {
  user: "x-lattice-user",
  access: "x-lattice-access",
  exp: "x-lattice-exp",
  project: "x-lattice-project",
  doc: "x-lattice-doc",
  incarnation: "x-lattice-incarnation",
  /** "1" when the client asked for the saved signal (`saved=1` on the sync URL). */
  saved: "x-lattice-saved",
  /** The id of the key that minted the token: revoking the key closes the socket. */
  key: "x-lattice-key",
  /** Which relay (src/relay) the upgrade goes to; on an upgrade to the document's object: a relay's link. */
  relay: "x-lattice-relay",
  /** How many full relays passed the upgrade on (src/relay/doc-relay.ts: at most three). */
  hops: "x-lattice-hops",
  /** On an upgrade to a relay: a relay under it opens its feed link (the value: that relay's index). */
  feed: "x-lattice-feed",
} as const;
