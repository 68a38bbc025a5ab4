/**
 * Signing in and out: the home redirect, the token sign-in form (same-origin, with a login
 * nonce), the session it starts, and signing out (the session is revoked server-side).
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { accessConfigured } from "../../auth/access.js";
import { checkLogin, endSession, issueLoginNonce, startSession } from "../../auth/sessions.js";
import { membershipsOf, userByToken } from "../../db/users.js";
import { loginForged, loginRefused, loginView, noWorkspace } from "../../views/account.js";
import { readBody, render } from "../_shared.js";

/**
 * Where to go after signing in: a path on this dashboard (the deep link that asked for a
 * session), never another origin; anything else is the home page.
 *
 * @example
 * ```ts
 * afterSignIn("/w/default/executions/ab12?reads=1"); // "/w/default/executions/ab12?reads=1"
 * afterSignIn("//evil.example/"); // "/"
 * ```
 */
export function afterSignIn(next: unknown): string {
  if (typeof next !== "string" || next.length > 2048) return "/";
  return /^\/(?![/\\])[^\s]*$/.test(next) ? next : "/";
}

export function sessionRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const p = c.get("principal");
    if (!p) return c.redirect("/login");
    const [first] = await membershipsOf(c.env.DB, p.userId);
    if (first) return c.redirect(`/w/${encodeURIComponent(first.id)}/issues`);
    return render(c, { title: "No workspace" }, noWorkspace(p.email));
  });

  app.get("/login", (c) =>
    render(
      c,
      { title: "Sign in" },
      loginView({
        access: accessConfigured(c.env),
        dev: c.env.FLUX_DEV === "true",
        next: afterSignIn(c.req.query("next")),
        nonce: issueLoginNonce(c),
      }),
    ),
  );

  app.post("/login", async (c) => {
    const body = await readBody(c);
    if (!checkLogin(c, body.nonce))
      return render(c, { title: "Sign in" }, loginForged(), { status: 403 });
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const user = token ? await userByToken(c.env.DB, token, clock.now()) : null;
    if (!user) return render(c, { title: "Sign in" }, loginRefused(), { status: 401 });
    await startSession(c, user.id, { now: clock.now(), token });
    return c.redirect(afterSignIn(body.next), 303);
  });

  app.post("/logout", async (c) => {
    await endSession(c, { now: clock.now() });
    return c.redirect("/login", 303);
  });

  return app;
}
