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
