/**
 * What a replay policy does inside the worker: which live fetches it allows and which noise
 * comparisons drop. Free of the schema library; `replay/policy` parses and checks the file, and
 * its `ReplayPolicy` fits {@link PolicyRules}.
 * @module
 */

/** What the rules read of a replay policy. */
export interface PolicyRules {
  allow: readonly { method: string; host: string; path?: string | undefined }[];
  ignore: { headers: readonly string[]; jsonPaths: readonly string[] };
}

/** True when a rule allows this exact live fetch. */
export function allowsLive(
  policy: Pick<PolicyRules, "allow"> | undefined,
  method: string,
  url: string,
): boolean {
  if (!policy?.allow.length) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return policy.allow.some(
    (r) =>
      r.method === method.toUpperCase() &&
      r.host === u.host &&
      (r.path === undefined || r.path === u.pathname),
  );
}

/** What comparisons ignore: a policy's `ignore` section. */
type Ignoring = Pick<PolicyRules, "ignore">;

/** Drops ignored headers (case-insensitive). */
export function withoutIgnoredHeaders(
  pairs: readonly (readonly [string, string])[],
  policy: Ignoring | undefined,
): [string, string][] {
  const ignored = new Set((policy?.ignore.headers ?? []).map((h) => h.toLowerCase()));
  return pairs.filter(([n]) => !ignored.has(n.toLowerCase())).map(([n, v]) => [n, v]);
}

function dropPath(value: unknown, parts: readonly string[]): void {
  if (typeof value !== "object" || value === null || parts.length === 0) return;
  const [head, ...rest] = parts as [string, ...string[]];
  const keys = head === "*" ? Object.keys(value) : [head];
  for (const k of keys) {
    if (rest.length === 0) delete (value as Record<string, unknown>)[k];
    else dropPath((value as Record<string, unknown>)[k], rest);
  }
}

/** A JSON body with ignored paths removed, or the bytes unchanged when not JSON or nothing to ignore. */
export function withoutIgnoredJson(body: Uint8Array, policy: Ignoring | undefined): Uint8Array {
  const paths = policy?.ignore.jsonPaths ?? [];
  if (!paths.length || body.length === 0) return body;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    return body;
  }
  for (const p of paths) dropPath(value, p.split("."));
  return new TextEncoder().encode(JSON.stringify(value));
}
