/**
 * Admin → Members: add a member (a new user without Cloudflare Access gets a one-time API
 * token), change a role, remove a member. A workspace always keeps one admin.
 * @module
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { accessConfigured } from "../../auth/access.js";
import { isRole, type Role } from "../../auth/roles.js";
import {
  countAdmins,
  createApiToken,
  ensureUser,
  removeMember,
  roleIn,
  setMember,
  userByEmail,
  userById,
  type User,
} from "../../db/users.js";
import { tokenLabel } from "../../auth/secrets.js";
import { newMemberToken } from "../../views/admin.js";
import { stateBox } from "../../views/layout.js";
import { readBody } from "../_shared.js";
import { field, showAdmin } from "./page.js";

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

const LAST_ADMIN = stateBox(
  "bad",
  "A workspace keeps at least one admin",
  "Make someone else admin first.",
);

/** The member a route names, with their role (404 when not a member of this workspace). */
async function member(c: Context<AppEnv>): Promise<{ user: User; role: Role }> {
  const user = await userById(c.env.DB, c.req.param("user") ?? "");
  const role = user ? await roleIn(c.env.DB, c.get("ws"), user.id) : null;
  if (!user || !role) throw new DashboardError("ERR_NOT_FOUND", "No such member in this workspace");
  return { user, role };
}

/** True when taking `role` from an admin would leave the workspace without one. */
async function lastAdmin(c: Context<AppEnv>, role: Role, next: Role | null): Promise<boolean> {
  return role === "admin" && next !== "admin" && (await countAdmins(c.env.DB, c.get("ws"))) <= 1;
}

export function memberRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const body = await readBody(c);
    const email = field(body, "email", 320).toLowerCase();
    const role = field(body, "role");
    if (!EMAIL.test(email) || !isRole(role)) {
      return showAdmin(c, {
        flash: stateBox(
          "bad",
          "Check the email and role",
          "Use a valid email and one of viewer, responder, admin.",
        ),
        status: 400,
      });
    }
    const db = c.env.DB;
    const now = clock.now();
    const existed = await userByEmail(db, email);
    const user = await ensureUser(db, email, { now, id: () => clock.id() });
    const before = await setMember(db, c.get("ws"), user.id, role, now);
    await c.var.audit(before ? "role.changed" : "member.added", {
      target: email,
      allowed: true,
      detail: { from: before, to: role },
    });
    if (existed || accessConfigured(c.env)) {
      return showAdmin(c, {
        flash: stateBox(
          "good",
          before ? "Role changed" : "Member added",
          `${email} is now ${role}.`,
        ),
      });
    }
    const token = await createApiToken(db, user.id, { name: "initial (created by admin)", now });
    await c.var.audit("api_token.created", {
      target: email,
      allowed: true,
      detail: { prefix: tokenLabel(token), by: "admin" },
    });
    return showAdmin(c, { flash: newMemberToken(email, role, token) });
  });

  app.post("/:user/role", async (c) => {
    const role = field(await readBody(c), "role");
    const { user, role: current } = await member(c);
    if (!isRole(role)) {
      return showAdmin(c, {
        flash: stateBox("bad", "Unknown role", "Use viewer, responder or admin."),
        status: 400,
      });
    }
    const detail = { from: current, to: role };
    if (await lastAdmin(c, current, role)) {
      await c.var.audit("role.changed", {
        target: user.email,
        allowed: false,
        reason: "last admin",
        detail,
      });
      return showAdmin(c, { flash: LAST_ADMIN, status: 409 });
    }
    await setMember(c.env.DB, c.get("ws"), user.id, role, clock.now());
    await c.var.audit("role.changed", { target: user.email, allowed: true, detail });
    return showAdmin(c, {
      flash: stateBox("good", "Role changed", `${user.email}: ${current} → ${role}.`),
    });
  });

  app.post("/:user/remove", async (c) => {
    const { user, role } = await member(c);
    if (await lastAdmin(c, role, null)) return showAdmin(c, { flash: LAST_ADMIN, status: 409 });
    await removeMember(c.env.DB, c.get("ws"), user.id);
    await c.var.audit("member.removed", {
      target: user.email,
      allowed: true,
      detail: { role },
    });
    return showAdmin(c, {
      flash: stateBox(
        "good",
        "Member removed",
        `${user.email} no longer has access to this workspace.`,
      ),
    });
  });

  return app;
}
