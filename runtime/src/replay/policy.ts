/**
 * The replay policy (`fluxrun.policy.json`): which live read-only effects a local replay may make
 * (default: none) and which noise to ignore when comparing (named headers, JSON paths).
 * A rule matches exactly or not at all; a rule that does not match denies.
 *
 * ```json
 * {
 *   "version": 1,
 *   "allow": [{ "kind": "fetch", "method": "GET", "host": "rates.example.com", "path": "/v1/eur" }],
 *   "ignore": { "headers": ["x-request-id"], "jsonPaths": ["createdAt", "items.*.id"] }
 * }
 * ```
 * @module
 */
import * as z from "zod/mini";
import { FluxError } from "../errors.js";

export const POLICY_FILE = "fluxrun.policy.json";

const AllowRule = z.strictObject({
  kind: z.literal("fetch"),
  /** Only read-only methods can be allowed live. */
  method: z.enum(["GET", "HEAD"]),
  /** Exact `host` or `host:port`. */
  host: z
    .string()
    .check(
      z.minLength(1),
      z.regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "a host name, with an optional port"),
    ),
  /** Exact path; when absent, any path on the host. */
  path: z.optional(z.string().check(z.startsWith("/"))),
});

export const ReplayPolicy = z.strictObject({
  version: z.literal(1),
  allow: z._default(z.array(AllowRule), []),
  ignore: z._default(
    z.strictObject({
      headers: z._default(z.array(z.string().check(z.minLength(1))), []),
      jsonPaths: z._default(
        z.array(
          z.string().check(z.regex(/^[^.]+(\.[^.]+)*$/, "dot-separated path, * for any element")),
        ),
        [],
      ),
    }),
    { headers: [], jsonPaths: [] },
  ),
});
export type ReplayPolicy = z.infer<typeof ReplayPolicy>;

/** The policy used when no file exists: deny every live effect, ignore nothing. */
export const DENY_ALL: ReplayPolicy = {
  version: 1,
  allow: [],
  ignore: { headers: [], jsonPaths: [] },
};

/** Parses and checks a policy (file text or object); refuses unknown fields and write rules. */
export function parsePolicy(input: string | unknown): ReplayPolicy {
  let raw = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (cause) {
      throw new FluxError("ERR_CONFIG", `${POLICY_FILE} is not valid JSON`, { cause });
    }
  }
  const parsed = ReplayPolicy.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FluxError(
      "ERR_CONFIG",
      `${POLICY_FILE} is invalid at ${issue?.path.join(".") || "root"}: ${issue?.message ?? ""}`,
    );
  }
  return parsed.data;
}

/** True when a rule allows this exact live fetch. */
export function allowsLive(policy: ReplayPolicy | undefined, method: string, url: string): boolean {
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
type Ignoring = { ignore: { headers: readonly string[]; jsonPaths: readonly string[] } };

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
