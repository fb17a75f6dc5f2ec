import { type Env, vars as varsOf } from "../env";
import { DEFAULT_LIMITS, type RoomLimits } from "../sync/ports";
import {
  MAX_AUTO_VERSIONS,
  MAX_BEFORE_RESTORE_VERSIONS,
  MAX_NAMED_VERSIONS,
  MAX_NAMED_VERSIONS_PER_USER,
  MAX_VERSION_BYTES,
  type RetentionLimits,
  VERSION_INTERVAL_SECONDS,
  VERSION_WRITES_PER_MINUTE,
} from "../versions/policy";

/**
 * Every limit the server enforces, configurable through `wrangler.toml` [vars]: a missing, non-numeric or
 * non-positive value keeps the default.
 */
export interface Limits extends RoomLimits {
  /** Largest WebSocket frame; a larger one closes the socket with 1009. The platform takes up to 32 MiB. */
  maxFrameBytes: number;
  /** Largest body of `POST /v1/docs/{id}/update`; a larger one gets 413. */
  maxUpdateBytes: number;
  /** Open connections per document; the next one is closed with 1013 (try again later). */
  maxConnectionsPerDoc: number;
  /** Open connections one user (a token's subject) may hold on one document; the next is closed with 1013. */
  maxConnectionsPerUser: number;
  /** Sockets one user may open on one document per minute, sustained (a burst of UPGRADE_BURST); past it, 1013. */
  maxUpgradesPerUserPerMinute: number;
  /** Sockets the document's own object holds before new ones go to relay objects (src/relay, docs/SCALE.md). */
  relayAfterConnections: number;
  /** Sockets one relay object holds; the next one there is closed with 1013 (retried, routed afresh). */
  maxConnectionsPerRelay: number;
  /** Relay objects one document may have: its audience is bounded by relayAfter + this × per relay. */
  maxRelaysPerDoc: number;
  /** Relays the document's object feeds itself; the others get the feed from one of these (a tree of two levels). */
  relayTreeWidth: number;
  /** At most one automatic version per this many seconds of editing (src/versions/policy.ts). */
  versionIntervalSeconds: number;
  /** Automatic versions kept per document, after thinning by age (src/versions/policy.ts). */
  maxAutoVersions: number;
  /** All of a document's versions together, in bytes of what they cost (state, name, row); split in shares by kind. */
  maxVersionBytes: number;
  /** Named versions per document; the next one gets 413. */
  maxNamedVersions: number;
  /** Named versions one client-token user holds per document; the next one gets 413. */
  maxNamedVersionsPerUser: number;
  /** Before-restore versions kept per document; the oldest goes first. */
  maxBeforeRestoreVersions: number;
  /** Named versions plus restores per client-token user per document per minute; past it 429. */
  versionWritesPerMinute: number;
  /** Webhook endpoints a project may have; the next POST /v1/webhooks gets 400. */
  maxWebhooksPerProject: number;
  /** Live (not revoked) secret keys a project may have; the next POST /v1/keys gets 400. */
  maxKeysPerProject: number;
  /** Stored access rules per document (PUT …/access/{userId}); the next new user's rule gets 400. */
  maxAccessRulesPerDoc: number;
  /** Documents a workspace token with `create` can bring into being under one of its prefixes by opening them. */
  maxDocsCreatedPerPrefix: number;
}

const DEFAULTS: Limits = {
  ...DEFAULT_LIMITS,
  // What the platform accepts: the document cap, not the frame size, decides which update fits.
  maxFrameBytes: 32 * 1024 * 1024,
  maxUpdateBytes: 1024 * 1024,
  maxConnectionsPerDoc: 1000,
  // A person rarely has a document open in more than a few tabs; an app that gives every visitor the same
  // user id must mint one per visitor instead (docs/LIMITS.md).
  maxConnectionsPerUser: 10,
  maxUpgradesPerUserPerMinute: 60,
  relayAfterConnections: 500,
  maxConnectionsPerRelay: 500,
  maxRelaysPerDoc: 200,
  relayTreeWidth: 50,
  versionIntervalSeconds: VERSION_INTERVAL_SECONDS,
  maxAutoVersions: MAX_AUTO_VERSIONS,
  maxVersionBytes: MAX_VERSION_BYTES,
  maxNamedVersions: MAX_NAMED_VERSIONS,
  maxNamedVersionsPerUser: MAX_NAMED_VERSIONS_PER_USER,
  maxBeforeRestoreVersions: MAX_BEFORE_RESTORE_VERSIONS,
  versionWritesPerMinute: VERSION_WRITES_PER_MINUTE,
  maxWebhooksPerProject: 20,
  maxKeysPerProject: 100,
  maxAccessRulesPerDoc: 1000,
  maxDocsCreatedPerPrefix: 1000,
};

const VARS: Record<keyof Limits, string> = {
  maxFrameBytes: "MAX_FRAME_BYTES",
  maxUpdateBytes: "MAX_UPDATE_BYTES",
  maxConnectionsPerDoc: "MAX_CONNECTIONS_PER_DOC",
  maxConnectionsPerUser: "MAX_CONNECTIONS_PER_USER",
  maxUpgradesPerUserPerMinute: "MAX_UPGRADES_PER_USER_PER_MINUTE",
  relayAfterConnections: "RELAY_AFTER_CONNECTIONS",
  maxConnectionsPerRelay: "MAX_CONNECTIONS_PER_RELAY",
  maxRelaysPerDoc: "MAX_RELAYS_PER_DOC",
  relayTreeWidth: "RELAY_TREE_WIDTH",
  versionIntervalSeconds: "VERSION_INTERVAL_SECONDS",
  maxAutoVersions: "MAX_AUTO_VERSIONS",
  maxVersionBytes: "MAX_VERSION_BYTES",
  maxNamedVersions: "MAX_NAMED_VERSIONS",
  maxNamedVersionsPerUser: "MAX_NAMED_VERSIONS_PER_USER",
  maxBeforeRestoreVersions: "MAX_BEFORE_RESTORE_VERSIONS",
  versionWritesPerMinute: "VERSION_WRITES_PER_MINUTE",
  maxWebhooksPerProject: "MAX_WEBHOOKS_PER_PROJECT",
  maxKeysPerProject: "MAX_KEYS_PER_PROJECT",
  maxAccessRulesPerDoc: "MAX_ACCESS_RULES_PER_DOC",
  maxDocsCreatedPerPrefix: "MAX_DOCS_CREATED_PER_PREFIX",
  maxDocBytes: "MAX_DOC_BYTES",
  maxDocItemUnits: "MAX_DOC_ITEM_UNITS",
  maxRootTypes: "MAX_ROOT_TYPES",
  maxMergeStepsPerUpdate: "MAX_MERGE_STEPS_PER_UPDATE",
  maxDocMergeSteps: "MAX_DOC_MERGE_STEPS",
  maxPendingBytes: "MAX_PENDING_BYTES",
  maxClientIdsPerUser: "MAX_CLIENT_IDS_PER_USER",
  maxClientIdsPerSecretWrite: "MAX_CLIENT_IDS_PER_SECRET_WRITE",
  maxAwarenessStateBytes: "MAX_AWARENESS_STATE_BYTES",
  maxAwarenessIdsPerConn: "MAX_AWARENESS_IDS_PER_CONNECTION",
  maxAwarenessBytesPerDoc: "MAX_AWARENESS_BYTES_PER_DOC",
  maxUpdatesPerSecond: "MAX_UPDATES_PER_SECOND",
  maxUpdateBurst: "MAX_UPDATE_BURST",
  maxSyncBytesPerSecond: "MAX_SYNC_BYTES_PER_SECOND",
  maxAwarenessPerSecond: "MAX_AWARENESS_PER_SECOND",
};

export function readLimits(env: Env): Limits {
  const vars = varsOf(env);
  const out = { ...DEFAULTS };
  for (const key of Object.keys(VARS) as (keyof Limits)[]) {
    const raw = vars[VARS[key]];
    const n = typeof raw === "string" || typeof raw === "number" ? Number(raw) : NaN;
    if (Number.isFinite(n) && n > 0) out[key] = Math.floor(n);
  }
  return out;
}

/** What the version store needs of the limits (src/versions/store.ts). */
export function retentionLimits(l: Limits): RetentionLimits {
  return {
    maxAuto: l.maxAutoVersions,
    maxBytes: l.maxVersionBytes,
    maxNamed: l.maxNamedVersions,
    maxNamedPerUser: l.maxNamedVersionsPerUser,
    maxBeforeRestore: l.maxBeforeRestoreVersions,
    writesPerMinute: l.versionWritesPerMinute,
  };
}
