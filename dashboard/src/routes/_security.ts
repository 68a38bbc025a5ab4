/**
 * Security headers on every response, by hono's secure-headers: no framing, same-origin
 * referrers, no sniffing, and a Content-Security-Policy under which only this response's nonce'd
 * inline scripts run and the page connects only to its own origin. The pages whose scripts call
 * the workspace's agent from the browser (execution, diagnostics) also allow that agent's origin.
 * @module
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env.js";
import { agentOf, currentWorkspace } from "./_shared.js";

const HEADERS = { xFrameOptions: "DENY", referrerPolicy: "same-origin" } as const;

const POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: [NONCE],
  styleSrc: ["'unsafe-inline'"],
  imgSrc: ["'self'", "data:"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/** Every response; leaves a policy a route set (an agent page's) in place. */
export const securityHeaders = () =>
  secureHeaders({
    ...HEADERS,
    contentSecurityPolicy: { ...POLICY, connectSrc: ["'self'"] },
    overwrite: false,
  });

function agentSource(c: Context): string {
  const origin = (c as Context<AppEnv>).get("agent")?.origin;
  try {
    return origin ? new URL(origin).origin : "'self'";
  } catch {
    return "'self'";
  }
}

/**
 * Route middleware for pages that call the workspace's agent: loads the agent (`c.var.agent`)
 * and sends the policy that lets the page reach it. After `wsAccess`.
 */
export const agentPage = () =>
  [
    createMiddleware<AppEnv>(async (c, next) => {
      c.set("agent", agentOf(c.env, await currentWorkspace(c)));
      await next();
    }),
    secureHeaders({
      ...HEADERS,
      contentSecurityPolicy: { ...POLICY, connectSrc: ["'self'", agentSource] },
    }),
  ] as const;
