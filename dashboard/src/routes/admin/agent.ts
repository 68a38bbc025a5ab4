/**
 * Admin → Agent: the endpoint browsers call for Unlock and Replay, and the id tokens are issued
 * for. https only, except a local connector on loopback.
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import { setAgent } from "../../db/workspaces.js";
import { stateBox } from "../../views/layout.js";
import { currentWorkspace, LOOPBACK_HOSTS, readBody } from "../_shared.js";
import { field, showAdmin } from "./page.js";

/** The origin of an agent endpoint, or why it cannot be one. */
function agentOrigin(input: string): { origin: string | null } | { problem: [string, string] } {
  if (!input) return { origin: null };
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return {
      problem: [
        "Not a URL",
        `“${input}” is not an absolute URL such as https://agent.example.com.`,
      ],
    };
  }
  if (u.protocol !== "https:" && !LOOPBACK_HOSTS.includes(u.hostname)) {
    return {
      problem: [
        "The agent endpoint must use https",
        "Only a local connector on 127.0.0.1 may use plain http.",
      ],
    };
  }
  return { origin: u.origin };
}

export function agentSettings(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const body = await readBody(c);
    const id = field(body, "id", 256);
    const parsed = agentOrigin(field(body, "origin"));
    if ("problem" in parsed) {
      return showAdmin(c, { flash: stateBox("bad", ...parsed.problem), status: 400 });
    }
    const before = await currentWorkspace(c);
    await setAgent(c.env.DB, c.get("ws"), { origin: parsed.origin, id: id || null });
    await c.var.audit("agent.changed", {
      target: c.get("ws"),
      allowed: true,
      detail: {
        from: `${before.agentOrigin ?? ""} ${before.agentId ?? ""}`.trim(),
        to: `${parsed.origin ?? ""} ${id}`.trim(),
      },
    });
    return showAdmin(c, {
      flash: stateBox(
        "good",
        "Agent saved",
        `Browsers now call ${parsed.origin ?? "the default agent"} with tokens for ${id || "the default agent id"}.`,
      ),
    });
  });
  return app;
}
