/**
 * Admin → Apps: register an app in the workspace (names are unique across the dashboard) and
 * create an app's ingest token for the HTTP sink.
 * @module
 */
import { INGEST_PATH } from "fluxrun/contract";
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { tokenLabel } from "../../auth/secrets.js";
import { appsOf, createIngestToken, registerApp } from "../../db/workspaces.js";
import { newIngestToken } from "../../views/admin.js";
import { stateBox } from "../../views/layout.js";
import { readBody } from "../_shared.js";
import { field, showAdmin } from "./page.js";

const APP_NAME = /^[A-Za-z0-9._-]{1,128}$/;

export function appRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const name = field(await readBody(c), "name", 128);
    if (!APP_NAME.test(name)) {
      return showAdmin(c, {
        flash: stateBox(
          "bad",
          "Invalid app name",
          "Use letters, digits, dot, dash and underscore, as in withFlux({ app }).",
        ),
        status: 400,
      });
    }
    const result = await registerApp(c.env.DB, c.get("ws"), name, clock.now());
    const taken = result === "taken";
    await c.var.audit("app.registered", {
      target: name,
      allowed: !taken,
      ...(taken ? { reason: "app belongs to another workspace" } : {}),
    });
    if (taken) {
      return showAdmin(c, {
        flash: stateBox(
          "bad",
          "That app belongs to another workspace",
          "App names are unique across the dashboard. Pick another name in withFlux({ app }).",
        ),
        status: 409,
      });
    }
    return showAdmin(c, {
      flash: stateBox(
        "good",
        result === "created" ? "App registered" : "Already registered",
        `${name} belongs to this workspace from now on. Traces recorded before its registration stay unassigned.`,
      ),
    });
  });

  app.post("/:app/ingest-token", async (c) => {
    const name = c.req.param("app");
    if (!(await appsOf(c.env.DB, c.get("ws"))).some((a) => a.name === name))
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    const token = await createIngestToken(c.env.DB, name, clock.now());
    await c.var.audit("ingest_token.created", {
      target: name,
      allowed: true,
      detail: { prefix: tokenLabel(token) },
    });
    return showAdmin(c, {
      flash: newIngestToken(name, `${new URL(c.req.url).origin}${INGEST_PATH}`, token),
    });
  });

  return app;
}
