/**
 * The dashboard worker's bindings and variables, and the Hono environment built on them.
 * @module
 */
import type { Principal } from "./auth/principal.js";
import type { Role } from "./auth/roles.js";
import type { AuditAction, AuditEntry } from "./db/audit.js";

/** Bindings and vars from dashboard/wrangler.toml (secrets via `wrangler secret put`). */
export interface Env {
  DB: D1Database;
  /** The trace bucket the recorded workers write (read for execution pages, listed by the sweep). */
  FLUX_TRACES?: R2Bucket;
  /** Secret: Ed25519 private JWK (JSON) that signs agent tokens. Its public half is at /.well-known/jwks.json. */
  FLUX_DASHBOARD_SIGNING_KEY?: string;
  /** Default agent origin and id for workspaces that set none. */
  FLUX_AGENT_ORIGIN?: string;
  FLUX_AGENT_ID?: string;
  /** Workspace that apps seen for the first time in R2 join (none: they wait, unassigned). */
  FLUX_DEFAULT_WORKSPACE?: string;
  /** JSON: each app's public Ed25519 key its traces are signed with (as the agent takes it). */
  FLUX_ORIGIN_KEYS?: string;
  /** Email made admin of FLUX_DEFAULT_WORKSPACE on first request (Cloudflare Access deployments). */
  FLUX_BOOTSTRAP_ADMIN?: string;
  /** "true" enables /dev/login and the seeded local admin. Never set it in production. */
  FLUX_DEV?: string;
  /** Local dev: the seeded admin's API token (`npm start` prints the login link). */
  FLUX_DEV_ADMIN_TOKEN?: string;
  /** Cloudflare Access: team domain (`<team>.cloudflareaccess.com`) and application audience tag. */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  /** Cloudflare Access keys as a JWKS (JSON). Unset: fetched from the team domain's certs URL. */
  ACCESS_JWKS?: string;
  /** How long the browser waits for the agent's health and unlock answers, in ms (default 15000). */
  FLUX_AGENT_TIMEOUT_MS?: string;
  /** Ingest requests one ingest token may make per minute (default 120; over it: 429 + Retry-After). */
  FLUX_INGEST_RATE?: string;
  /** How far behind the last indexed key each sweep looks again, in ms (late trace writes). */
  FLUX_INDEX_LOOKBACK_MS?: string;
}

/** Per-request values set by middleware. */
export interface Vars {
  principal: Principal | null;
  /** Set by the workspace middleware on `/w/:ws/*` and workspace-scoped API routes. */
  ws: string;
  role: Role;
  /** Set by hono's secure-headers: the CSP nonce of this response's inline scripts. */
  secureHeadersNonce?: string;
  /** Records an action of the signed-in user in the audit log (see `auditor`). */
  audit: Audit;
  /** The agent the workspace's pages call (set on pages that talk to it; their CSP allows it). */
  agent?: { origin: string | null; id: string | null };
  /** The app's clock (set first), for helpers outside a route factory (the nav's approval count). */
  clock?: import("./deps.js").Clock;
}

/** Audits one action, allowed or refused; `ws` defaults to the route's workspace. */
export type Audit = (
  action: AuditAction,
  entry: Omit<AuditEntry, "action" | "actor" | "ws"> & { ws?: string | null; actor?: string },
) => Promise<void>;

export interface AppEnv {
  Bindings: Env;
  Variables: Vars;
}
