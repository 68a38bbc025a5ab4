/**
 * What every route shares: workspace access checks, the audit helper, the page shell, the agent
 * a workspace uses, and reading form or JSON bodies.
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Env } from "../env.js";
import { systemClock, type Clock } from "../deps.js";
import { pendingCount } from "../db/approvals.js";
import { audit } from "../db/audit.js";
import { DashboardError } from "../errors.js";
import { atLeast, type Role } from "../auth/roles.js";
import { membershipsOf, roleIn } from "../db/users.js";
import { getWorkspace, type Workspace } from "../db/workspaces.js";
import { page, type Shell } from "../views/layout.js";
import type { Html } from "../views/html.js";
import type { Principal } from "../auth/principal.js";
import type { AgentTimeouts } from "../browser.js";

/** Hosts (as `URL.hostname` gives them) where an agent may use plain http: a local connector. */
export const LOOPBACK_HOSTS: readonly string[] = ["127.0.0.1", "localhost", "[::1]"];

/** The principal, or a 401 (API) / a redirect to /login (pages, handled by onError). */
export function requirePrincipal(c: Context<AppEnv>): Principal {
  const p = c.get("principal");
  if (!p) {
    throw new DashboardError("ERR_AUTH_REQUIRED", "Sign in to continue", {
      fix: "Sign in with Cloudflare Access or an API token",
    });
  }
  return p;
}

/**
 * Checks that the principal is a member of `ws` with at least `min`. A workspace that does not
 * exist and one the caller is not a member of answer the same 404.
 */
export async function checkWorkspace(
  c: Context<AppEnv>,
  ws: string,
  min: Role,
): Promise<{ principal: Principal; role: Role }> {
  const principal = requirePrincipal(c);
  const role = await roleIn(c.env.DB, ws, principal.userId);
  if (!role) {
    throw new DashboardError("ERR_NOT_FOUND", "No such workspace, or you are not a member of it", {
      fix: "Pick one of your workspaces, or ask its admin to add you",
    });
  }
  if (!atLeast(role, min)) {
    throw new DashboardError(
      "ERR_FORBIDDEN",
      `This needs the ${min} role; you are ${role} in this workspace`,
      {
        fix: `Ask a workspace admin for the ${min} role`,
      },
    );
  }
  return { principal, role };
}

/**
 * Middleware giving routes `c.var.audit(action, entry)`: the one way they record what a user did
 * or was refused (actor: the principal; workspace: the route's unless named).
 */
export function auditor(clock: Clock) {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set("audit", (action, { ws, actor, ...entry }) =>
      audit(
        c.env.DB,
        {
          ws: ws === undefined ? (c.get("ws") ?? null) : ws,
          actor: actor ?? requirePrincipal(c).email,
          action,
          ...entry,
        },
        clock.now(),
      ),
    );
    await next();
  });
}

/** Middleware for `/w/:ws/*` routes. */
export function wsAccess(min: Role) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const ws = c.req.param("ws") ?? "";
    const { role } = await checkWorkspace(c, ws, min);
    c.set("ws", ws);
    c.set("role", role);
    await next();
  });
}

/** The agent a workspace's browsers call: its own settings, else the dashboard's defaults. */
export function agentOf(
  env: Env,
  ws: Workspace | null,
): { origin: string | null; id: string | null } {
  return {
    origin: ws?.agentOrigin || env.FLUX_AGENT_ORIGIN || null,
    id: ws?.agentId || env.FLUX_AGENT_ID || null,
  };
}

/** Renders a full page in the shell, its scripts under this response's CSP nonce. */
export async function render(
  c: Context<AppEnv>,
  shell: Omit<Shell, "nonce" | "email" | "workspaces" | "ws" | "role"> & { ws?: string | null },
  body: Html,
  options: {
    scripts?: Html[];
    status?: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503;
  } = {},
): Promise<Response> {
  const principal = c.get("principal");
  const workspaces = principal ? await membershipsOf(c.env.DB, principal.userId) : [];
  // Pages outside a workspace (account, errors) still carry the nav, for the first one.
  const ws = shell.ws ?? workspaces[0]?.id ?? null;
  const role = ws ? (workspaces.find((w) => w.id === ws)?.role ?? null) : null;
  const approvals =
    ws && role && atLeast(role, "responder")
      ? await pendingCount(c.env.DB, ws, (c.get("clock") ?? systemClock).now())
      : null;
  return c.html(
    page(
      {
        ...shell,
        nonce: c.get("secureHeadersNonce") ?? "",
        email: principal?.email ?? null,
        workspaces,
        ws,
        role,
        approvals,
      },
      body,
      options.scripts ?? [],
    ),
    options.status ?? 200,
  );
}

/** Loads a workspace the caller already passed `wsAccess` for. */
export async function currentWorkspace(c: Context<AppEnv>): Promise<Workspace> {
  const ws = await getWorkspace(c.env.DB, c.get("ws"));
  if (!ws) throw new DashboardError("ERR_NOT_FOUND", "No such workspace");
  return ws;
}

/** A body as JSON or form data, whichever was sent. */
export async function readBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  try {
    if (type.includes("application/json"))
      return ((await c.req.json()) ?? {}) as Record<string, unknown>;
    if (type.includes("form")) {
      const out: Record<string, unknown> = {};
      (await c.req.formData()).forEach((value, key) => {
        out[key] = value;
      });
      return out;
    }
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body could not be read", { cause });
  }
  return {};
}

/** True when the client wants JSON (API clients), not a page. */
export function wantsJson(c: Context<AppEnv>): boolean {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith("/api/") || path.startsWith("/v1/")) return true;
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

/**
 * How long the browser waits for the agent: `FLUX_AGENT_TIMEOUT_MS` (1 s to 10 min, default 15 s)
 * for health checks and unlocks, and at least 2 minutes for replays, which run the app.
 *
 * @example
 * ```ts
 * agentTimeouts({ FLUX_AGENT_TIMEOUT_MS: "3000" } as Env); // { call: 3000, replay: 120000 }
 * ```
 */
export function agentTimeouts(env: Env): AgentTimeouts {
  const n = Number(env.FLUX_AGENT_TIMEOUT_MS);
  const call = Number.isInteger(n) && n >= 1000 && n <= 600_000 ? n : 15_000;
  return { call, replay: Math.max(call, 120_000) };
}
