/**
 * The account page: the caller's personal API tokens, created (shown once) and revoked.
 * @module
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { tokenLabel } from "../../auth/secrets.js";
import { createApiToken, revokeTokens, tokensOf } from "../../db/users.js";
import { accountView } from "../../views/account.js";
import { readBody, render, requirePrincipal } from "../_shared.js";

async function showAccount(
  c: Context<AppEnv>,
  clock: Clock,
  created: string | null = null,
): Promise<Response> {
  const principal = requirePrincipal(c);
  const tokens = await tokensOf(c.env.DB, principal.userId);
  return render(
    c,
    { title: "Account", active: "account" },
    accountView({ principal, tokens, created, now: clock.now() }),
  );
}

export function accountRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", (c) => showAccount(c, clock));

  app.post("/tokens", async (c) => {
    const p = requirePrincipal(c);
    const body = await readBody(c);
    const name =
      typeof body.name === "string" && body.name.trim() ? body.name.trim().slice(0, 64) : "token";
    const token = await createApiToken(c.env.DB, p.userId, { name, now: clock.now() });
    await c.var.audit("api_token.created", {
      ws: null,
      target: p.email,
      allowed: true,
      detail: { name, prefix: tokenLabel(token) },
    });
    c.header("Cache-Control", "no-store");
    return showAccount(c, clock, token);
  });

  app.post("/tokens/revoke", async (c) => {
    const p = requirePrincipal(c);
    const body = await readBody(c);
    const prefix = typeof body.prefix === "string" ? body.prefix : "";
    await revokeTokens(c.env.DB, p.userId, { prefix, now: clock.now() });
    await c.var.audit("api_token.revoked", {
      ws: null,
      target: p.email,
      allowed: true,
      detail: { prefix },
    });
    return c.redirect("/account", 303);
  });

  return app;
}
