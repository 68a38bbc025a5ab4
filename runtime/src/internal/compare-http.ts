/**
 * Comparing recorded and replayed HTTP messages: which request fields differ, header by header,
 * and body equality, leaving out the headers and JSON paths a replay policy ignores.
 * @module
 */
import type { HttpRequestData } from "../trace/schema.js";
import { isTruncated, sameValue } from "./values.js";
import { withoutIgnoredHeaders, withoutIgnoredJson } from "./policy-rules.js";
import type { CompareRules } from "./session.js";

/**
 * Which request fields differ: `method`, `url`, `headers.<name>` for each differing header,
 * `body`. Ignored headers and JSON paths from the policy are left out of the comparison.
 */
export function compareHttpRequest(
  recorded: unknown,
  actual: unknown,
  policy?: CompareRules,
): string[] {
  const r = recorded as Partial<HttpRequestData> | undefined;
  const a = actual as HttpRequestData;
  if (!r) return ["request"];
  const out: string[] = [];
  if (r.method !== a.method) out.push("method");
  if (r.url !== a.url) out.push("url");
  out.push(...changedHeaders(r.headers ?? [], a.headers, policy));
  if (isTruncated(r.body)) {
    const size =
      a.body instanceof Uint8Array ? a.body.length : isTruncated(a.body) ? a.body.size : 0;
    if (size !== r.body.size) out.push("body");
  } else if (!sameBody(r.body ?? null, a.body ?? null, policy)) out.push("body");
  return out;
}

/** `headers.<name>` for every header whose values differ, ignored headers aside. */
export function changedHeaders(
  recorded: readonly (readonly [string, string])[],
  actual: readonly (readonly [string, string])[],
  policy?: CompareRules,
): string[] {
  const group = (pairs: readonly (readonly [string, string])[]) => {
    const m = new Map<string, string[]>();
    for (const [n, v] of withoutIgnoredHeaders(pairs, policy)) {
      const k = n.toLowerCase();
      m.set(k, [...(m.get(k) ?? []), v]);
    }
    return m;
  };
  const r = group(recorded);
  const a = group(actual);
  const names = [...new Set([...r.keys(), ...a.keys()])].sort();
  return names
    .filter((n) => !sameValue(r.get(n)?.sort() ?? null, a.get(n)?.sort() ?? null))
    .map((n) => `headers.${n}`);
}

/** Body equality after removing ignored JSON paths. */
export function sameBody(recorded: unknown, actual: unknown, policy?: CompareRules): boolean {
  if (recorded instanceof Uint8Array && actual instanceof Uint8Array) {
    return sameValue(withoutIgnoredJson(recorded, policy), withoutIgnoredJson(actual, policy));
  }
  return sameValue(recorded, actual);
}
