/**
 * Opaque tokens (API and ingest): random, prefixed so they are recognisable in leaks, and stored
 * only as their SHA-256.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import * as z from "zod/mini";

export const API_TOKEN_PREFIX = "fxd_";
export const INGEST_TOKEN_PREFIX = "fxi_";

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
  return prefix + z.util.uint8ArrayToBase64url(random(new Uint8Array(32)));
}

/** Hex SHA-256 of a token: what the database holds. */
export async function hashToken(token: string): Promise<string> {
  return bytesToHex(sha256(utf8ToBytes(token)));
}

/** The part of a token safe to show in lists: its prefix and 4 more characters. */
export function tokenLabel(token: string): string {
  return token.slice(0, 8);
}
