/**
 * The dashboard's Hono app: public routes (JWKS, health, ingest, dev login), then authentication,
 * then pages, admin and the JSON API. Errors become JSON for API clients and a state page (what
 * is wrong, how to fix it) for browsers.
 * @module
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "./env.js";
import { systemClock, type Clock } from "./deps.js";
import { DashboardError } from "./errors.js";
import { authenticate } from "./auth/principal.js";
import { ensureSeed } from "./seed.js";
import { publicRoutes } from "./routes/public.js";
import { ingestRoutes } from "./routes/ingest.js";
import { pageRoutes } from "./routes/pages/index.js";
import { adminRoutes } from "./routes/admin/index.js";
import { apiRoutes } from "./routes/api.js";
import { approvalRoutes } from "./routes/approvals.js";
import { pairingRoutes } from "./routes/pairing.js";
import { sourceMapApi, sourceMapPages } from "./routes/sourcemaps.js";
import { auditor, render, wantsJson } from "./routes/_shared.js";
import { securityHeaders } from "./routes/_security.js";
import { h } from "./views/html.js";
import { stateBox } from "./views/layout.js";

function asDashboardError(err: unknown): DashboardError {
  if (err instanceof DashboardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/no such table/i.test(message)) {
    return new DashboardError("ERR_DB_NOT_MIGRATED", "The dashboard database has no schema yet", {
      fix: "Run `npx wrangler d1 migrations apply fluxrun-dashboard -c dashboard/wrangler.toml` (add --local for wrangler dev)",
    });
  }
  console.error(`fluxrun-dashboard: unhandled ${err instanceof Error ? err.name : "error"}`);
  return new DashboardError("ERR_INTERNAL", "The dashboard failed while handling this request", {
    fix: "Retry; if it persists, check the worker logs (wrangler tail)",
  });
}

async function onError(err: unknown, c: Context<AppEnv>): Promise<Response> {
  const e = asDashboardError(err);
  if (e.retryAfter !== undefined) c.header("Retry-After", String(e.retryAfter));
  if (wantsJson(c)) return c.json(e.toJSON(), e.status);
  if (e.code === "ERR_AUTH_REQUIRED" && c.req.method === "GET") {
    const url = new URL(c.req.url);
    const next =
      url.pathname === "/" ? "" : `?next=${encodeURIComponent(url.pathname + url.search)}`;
    return c.redirect(`/login${next}`, 302);
  }
  const ws = c.get("ws") ?? null;
  return render(
    c,
    { title: "Problem", ws: e.code === "ERR_NOT_FOUND" ? null : ws },
    h`${stateBox(e.status >= 500 ? "bad" : "warn", e.message, h`${e.fix ? h`<p><b>Fix:</b> ${e.fix}</p>` : null}<p class="small muted">code ${e.code}</p>`, { id: "state-error", code: e.code })}
    <p><a href="/">⟵ Back to your workspaces</a></p>`,
    { status: e.status === 500 ? 503 : e.status },
  ).catch(() => c.text(`${e.code}: ${e.message}`, e.status));
}

/**
 * Builds the app. Tests pass a frozen clock.
 *
 * @example
 * ```ts
 * const app = createApp({ clock: { now: () => T0, id: () => crypto.randomUUID() } });
 * const res = await app.request("/healthz", {}, env);
 * ```
 */
export function createApp(options: { clock?: Clock } = {}): Hono<AppEnv> {
  const clock = options.clock ?? systemClock;
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound((c) => onError(new DashboardError("ERR_NOT_FOUND", "No such page"), c));
  app.use("*", securityHeaders());
  app.use("*", async (c, next) => {
    c.set("principal", null);
    c.set("clock", clock);
    await next();
  });
  app.use("*", async (c, next) => {
    await ensureSeed(c.env, clock);
    await next();
  });
  app.route("/", publicRoutes(clock));
  app.route("/", ingestRoutes(clock));
  app.use("*", authenticate(clock));
  app.use("*", auditor(clock));
  app.route("/", pageRoutes(clock));
  app.route("/", adminRoutes(clock));
  app.route("/", approvalRoutes(clock));
  app.route("/", pairingRoutes(clock));
  app.route("/api", apiRoutes(clock));
  app.route("/", sourceMapPages(clock));
  app.route("/api", sourceMapApi(clock));
  return app;
}
