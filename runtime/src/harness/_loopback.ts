/**
 * Loopback hosts: the only ones the CLI sends credentials to over plain http.
 * @module
 */

/** True for 127.0.0.1, localhost and ::1 (bracketed as URL.hostname gives it, or bare). */
export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1";
}
