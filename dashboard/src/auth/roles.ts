/**
 * Workspace roles: viewer (summaries only), responder (unlock and replay through the agent),
 * admin (agent settings, members, apps, keys, reindex).
 * @module
 */

export const ROLES = ["viewer", "responder", "admin"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Readonly<Record<Role, number>> = { viewer: 1, responder: 2, admin: 3 };

/** True when `role` grants at least `needed`. */
export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Narrows a string to a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}
