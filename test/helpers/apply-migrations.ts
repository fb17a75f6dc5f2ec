import { applyD1Migrations, env } from "cloudflare:test";

// The same migrations folder that `wrangler d1 migrations apply` runs.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
