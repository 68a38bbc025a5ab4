/**
 * Who is calling: an API token (`Authorization: Bearer fxd_…`), a Cloudflare Access JWT
 * (`Cf-Access-Jwt-Assertion` or the `CF_Authorization` cookie), or a session (the opaque id in the
 * `__Host-flux_session` cookie a sign-in sets; see sessions.ts). An API token is never accepted
 * from a cookie. Cookie-authenticated writes must come from this origin (CSRF).
 * @module
 */
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.js";
import { DashboardError } from "../errors.js";
import { ensureUser, userByToken } from "../db/users.js";
import { verifyAccessJwt } from "./access.js";
import { sessionUser } from "./sessions.js";
import type { Clock } from "../deps.js";

export interface Principal {
  userId: string;
  email: string;
  via: "token" | "access" | "cookie";
}

/** Resolves the principal (or null) for every request. */
export function authenticate(deps: Clock) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const db = c.env.DB;
    const now = deps.now();
    let principal: Principal | null = null;
    const auth = c.req.header("authorization");
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const user = m ? await userByToken(db, m[1]!, now) : null;
      if (!user) {
        throw new DashboardError(
          "ERR_AUTH_INVALID",
          "The API token is unknown, expired or revoked",
          {
            fix: "Create a new token on your account page, or sign in again",
          },
        );
      }
      principal = { userId: user.id, email: user.email, via: "token" };
    } else {
      const accessJwt = c.req.header("cf-access-jwt-assertion") ?? getCookie(c, "CF_Authorization");
      if (accessJwt) {
        const email = await verifyAccessJwt(accessJwt, c.env);
        if (email) {
          const user = await ensureUser(db, email, { now, id: deps.id });
          principal = { userId: user.id, email: user.email, via: "access" };
        }
      }
      if (!principal) {
        const user = await sessionUser(c, { now });
        if (user) principal = { userId: user.id, email: user.email, via: "cookie" };
      }
    }
    if (
      principal &&
      principal.via !== "token" &&
      !["GET", "HEAD", "OPTIONS"].includes(c.req.method)
    ) {
      const origin = c.req.header("origin");
      if (origin !== new URL(c.req.url).origin) {
        throw new DashboardError("ERR_CSRF", "Refused a write from another origin", {
          fix: "Use the dashboard's own pages, or an API token in the Authorization header",
        });
      }
    }
    c.set("principal", principal);
    await next();
  });
}
