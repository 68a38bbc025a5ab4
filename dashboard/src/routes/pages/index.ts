/**
 * Server-rendered pages: signing in, the account, and the workspace views (executions list and
 * execution, overview, guards, diagnostics). Every workspace page checks membership first.
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { accountRoutes } from "./account.js";
import { executionRoutes } from "./executions.js";
import { issueRoutes } from "./issues.js";
import { policyRoutes } from "./policies.js";
import { sessionRoutes } from "./session.js";
import { workspaceRoutes } from "./workspace.js";

export function pageRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route("/", sessionRoutes(clock));
  app.route("/account", accountRoutes(clock));
  app.route("/", issueRoutes(clock));
  app.route("/", executionRoutes(clock));
  app.route("/", workspaceRoutes(clock));
  app.route("/w/:ws/policies", policyRoutes(clock));
  return app;
}
