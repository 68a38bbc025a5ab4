/**
 * Browser sessions: an opaque random id in a `__Host-` cookie (Secure, HttpOnly, SameSite=Lax,
 * Path=/), stored server-side only as its SHA-256, with an expiry and revocation on sign-out.
 * Signing in is protected from login CSRF by a same-origin check and a login nonce: `GET /login`
 * sets a random nonce in its own `__Host-` cookie (SameSite=Strict) and in the form; `POST /login`
 * needs both to match, so a form on another site cannot sign a victim into the attacker's account.
 * @module
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { hashToken, newToken } from "./secrets.js";
import type { User } from "../db/users.js";

/** The session cookie's name without its `__Host-` prefix (hono adds it). */
export const SESSION_COOKIE = "flux_session";
/** The login nonce cookie's name without its `__Host-` prefix. */
export const LOGIN_NONCE_COOKIE = "flux_login";
export const SESSION_PREFIX = "fxs_";
/** A session lives this long from sign-in, at most. */
export const SESSION_TTL_MS = 24 * 3_600_000;
const NONCE_TTL_S = 10 * 60;

/**
 * Starts a session for a user: stores the hash of a fresh id and sets the cookie. A session
 * started with an API token lives only as long as that token: revoking or expiring the token
 * ends it.
 *
 * @example
 * ```ts
 * await startSession(c, user.id, { now: clock.now(), token });
 * ```
 */
export async function startSession(
  c: Context,
  userId: string,
  options: { now: number; token?: string },
): Promise<void> {
  const id = newToken(SESSION_PREFIX);
  await (c.env as { DB: D1Database }).DB.prepare(
    "INSERT INTO sessions (hash, user_id, created_at, expires_at, token_hash) VALUES (?, ?, ?, ?, ?)",
  )
    .bind(
      await hashToken(id),
      userId,
      options.now,
      options.now + SESSION_TTL_MS,
      options.token ? await hashToken(options.token) : null,
    )
    .run();
  setCookie(c, SESSION_COOKIE, id, {
    prefix: "host",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: SESSION_TTL_MS / 1000,
  });
}

function sessionId(c: Context): string | null {
  const id = getCookie(c, SESSION_COOKIE, "host");
  return id && id.startsWith(SESSION_PREFIX) && id.length <= 128 ? id : null;
}

/**
 * The user of the request's session cookie, if the session is live (not expired, not signed out).
 *
 * @example
 * ```ts
 * const user = await sessionUser(c, { now: clock.now() });
 * ```
 */
export async function sessionUser(c: Context, options: { now: number }): Promise<User | null> {
  const id = sessionId(c);
  if (!id) return null;
  return (c.env as { DB: D1Database }).DB.prepare(
    `SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
       AND (s.token_hash IS NULL OR EXISTS (SELECT 1 FROM api_tokens t WHERE t.hash = s.token_hash
         AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)))`,
  )
    .bind(await hashToken(id), options.now)
    .first<User>();
}

/**
 * Signs out: revokes the request's session server-side and clears the cookie.
 *
 * @example
 * ```ts
 * await endSession(c, { now: clock.now() });
 * ```
 */
export async function endSession(c: Context, options: { now: number }): Promise<void> {
  const id = sessionId(c);
  if (id) {
    await (c.env as { DB: D1Database }).DB.prepare(
      "UPDATE sessions SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL",
    )
      .bind(options.now, await hashToken(id))
      .run();
  }
  deleteCookie(c, SESSION_COOKIE, { prefix: "host", path: "/", secure: true });
}

/**
 * A fresh login nonce, set in its cookie; the login form carries it back.
 *
 * @example
 * ```ts
 * const nonce = issueLoginNonce(c); // put it in <input type="hidden" name="nonce">
 * ```
 */
export function issueLoginNonce(c: Context): string {
  const nonce = newToken("");
  setCookie(c, LOGIN_NONCE_COOKIE, nonce, {
    prefix: "host",
    httpOnly: true,
    sameSite: "Strict",
    maxAge: NONCE_TTL_S,
  });
  return nonce;
}

/**
 * True when a sign-in comes from this dashboard's own login form: the request's `Origin` (or,
 * without one, `Sec-Fetch-Site`) is this origin, and the form's nonce is the one in its cookie.
 * Spends the nonce either way.
 *
 * @example
 * ```ts
 * if (!checkLogin(c, body.nonce)) throw new DashboardError("ERR_CSRF", "…");
 * ```
 */
export function checkLogin(c: Context, formNonce: unknown): boolean {
  const cookie = getCookie(c, LOGIN_NONCE_COOKIE, "host");
  deleteCookie(c, LOGIN_NONCE_COOKIE, { prefix: "host", path: "/", secure: true });
  const origin = c.req.header("origin");
  const sameOrigin =
    origin !== undefined
      ? origin === new URL(c.req.url).origin
      : c.req.header("sec-fetch-site") === "same-origin";
  return (
    sameOrigin &&
    typeof formNonce === "string" &&
    !!cookie &&
    cookie.length >= 32 &&
    timingSafeEqual(cookie, formNonce)
  );
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Deletes sessions that ended (expired or signed out) more than a day ago (the cron does this).
 *
 * @example
 * ```ts
 * await pruneSessions(env.DB, { now: Date.now() });
 * ```
 */
export async function pruneSessions(db: D1Database, options: { now: number }): Promise<void> {
  const before = options.now - 86_400_000;
  await db
    .prepare("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?")
    .bind(before, before)
    .run();
}
