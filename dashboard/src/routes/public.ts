/**
 * Public routes: the JWKS the agent trusts, a health probe, and the dev-only login link.
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { publicJwks } from "../auth/issuer.js";
import { userByToken } from "../db/users.js";
import { DashboardError } from "../errors.js";
import { startSession } from "../auth/sessions.js";
import { afterSignIn } from "./pages/session.js";

export function publicRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/.well-known/jwks.json", cors({ origin: "*", allowMethods: ["GET"] }), async (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(await publicJwks(c.env));
  });

  app.get("/healthz", async (c) => {
    const db = await c.env.DB.prepare("SELECT count(*) AS n FROM workspaces")
      .first<{ n: number }>()
      .then(
        () => "ok",
        () => "migrations not applied",
      );
    const jwks = await publicJwks(c.env);
    return c.json({
      ok: db === "ok",
      db,
      traces: c.env.FLUX_TRACES ? "bound" : "FLUX_TRACES binding missing",
      signingKey: jwks.keys[0]?.kid ?? "missing",
    });
  });

  /** Local dev only: turns the printed login link into a session (the token is never the cookie). */
  app.get("/dev/login", async (c) => {
    if (c.env.FLUX_DEV !== "true") throw new DashboardError("ERR_NOT_FOUND", "Not found");
    const token = c.req.query("token") ?? "";
    const user = await userByToken(c.env.DB, token, clock.now());
    if (!user)
      throw new DashboardError("ERR_AUTH_INVALID", "Unknown dev token", {
        fix: "Use the link `npm start` printed",
      });
    await startSession(c, user.id, { now: clock.now(), token });
    return c.redirect(afterSignIn(c.req.query("next")), 302);
  });

  return app;
}
