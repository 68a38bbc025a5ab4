/**
 * Opaque tokens (API and ingest): random, prefixed so they are recognisable in leaks, and stored
 * only as their SHA-256.
 * @module
 */

export const API_TOKEN_PREFIX = "fxd_";
export const INGEST_TOKEN_PREFIX = "fxi_";

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * A new token: prefix + 32 random bytes, base64url.
 *
 * @example
 * ```ts
 * const token = newToken(API_TOKEN_PREFIX); // "fxd_..."
 * ```
 */
export function newToken(
  prefix: string,
  options: { random?: (bytes: Uint8Array) => Uint8Array } = {},
): string {
  const random = options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b));
  return prefix + base64url(random(new Uint8Array(32)));
}

/** Hex SHA-256 of a token: what the database holds. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The part of a token safe to show in lists: its prefix and 4 more characters. */
export function tokenLabel(token: string): string {
  return token.slice(0, 8);
}
