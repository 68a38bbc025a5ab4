/**
 * Signing in and out: the home redirect, the token sign-in form, the session cookie.
 * @module
 */
import { Hono, type Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { SESSION_COOKIE } from "../../auth/principal.js";
import { accessConfigured } from "../../auth/access.js";
import { membershipsOf, userByToken } from "../../db/users.js";
import { loginRefused, loginView, noWorkspace } from "../../views/account.js";
import { readBody, render } from "../_shared.js";

/** Sets the session cookie (an API token; HttpOnly, Lax, Secure on https). */
export function setSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: 7 * 86_400,
  });
}

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
      }),
    ),
  );

  app.post("/login", async (c) => {
    const body = await readBody(c);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const user = token ? await userByToken(c.env.DB, token, clock.now()) : null;
    if (!user) return render(c, { title: "Sign in" }, loginRefused(), { status: 401 });
    setSession(c, token);
    return c.redirect(afterSignIn(body.next), 303);
  });

  app.post("/logout", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });

  return app;
}
