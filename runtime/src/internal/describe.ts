/**
 * Calls described for reports without their payloads: bodies and arguments as sizes and
 * digests, URLs without query values; and the recorded call closest to one the trace lacks.
 * @module
 */
import { hex, sha256 } from "./_sha256.js";
import type { TraceEvent } from "../trace/schema.js";
import { encodeCbor } from "../trace/_cbor.js";
import { isTruncated, isUnread } from "./values.js";

import type { CallDescription } from "../contract/report.js";
export type { CallDescription };

/** A short digest of bytes for reports: 16 hex characters of SHA-256. */
export function digest(bytes: Uint8Array): string {
  return `sha256:${hex(sha256(bytes)).slice(0, 16)}`;
}

/** Removes query values from a URL: `https://h/p?a=…&b=…`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const names = [...new Set([...u.searchParams.keys()])];
    return `${u.origin}${u.pathname}${names.length ? `?${names.map((n) => `${n}=…`).join("&")}` : ""}`;
  } catch {
    return "(unparseable url)";
  }
}

/** A body as a report shows it: its size and a digest, never its bytes. */
export function describeBody(body: unknown): string | null {
  if (body === null || body === undefined) return null;
  if (body instanceof Uint8Array) return `${body.length} bytes ${digest(body)}`;
  if (isTruncated(body)) return `${body.size} bytes (truncated) sha256:${body.sha256.slice(0, 16)}`;
  if (isUnread(body)) {
    const size = body.size === undefined ? "" : `${body.size} bytes `;
    return `${size}(not read by the app)${body.sha256 ? ` sha256:${body.sha256.slice(0, 16)}` : ""}`;
  }
  return digest(encodeCbor(body));
}

/** Describes a call's request without its payload. */
export function describeCall(
  kind: string,
  op: string,
  target: string,
  request: unknown,
): CallDescription {
  const out: CallDescription = { kind, op, target };
  if (request === undefined) return out;
  const r = request as Record<string, unknown>;
  if (
    typeof r === "object" &&
    r !== null &&
    typeof r.url === "string" &&
    typeof r.method === "string"
  ) {
    out.method = r.method;
    out.url = redactUrl(r.url);
    if (Array.isArray(r.headers)) {
      out.headers = [...new Set((r.headers as [string, string][]).map(([n]) => n))].sort();
    }
    out.body = describeBody(r.body);
    return out;
  }
  try {
    out.args = digest(encodeCbor(request));
  } catch {
    out.args = "(unencodable)";
  }
  return out;
}

/** The recorded, unserved call closest to a call the recording lacks. */
export function closestCandidate(
  entries: readonly { event: TraceEvent; used: boolean }[],
  kind: string,
  op: string,
  target: string,
): { seq: number; op: string; target: string } | null {
  let best: { seq: number; op: string; target: string } | null = null;
  let bestScore = -1;
  for (const { event, used } of entries) {
    if (used || event.kind !== kind) continue;
    let prefix = 0;
    while (prefix < target.length && target[prefix] === event.target[prefix]) prefix++;
    const score = (event.op === op ? 10_000 : 0) + prefix;
    if (score > bestScore) {
      bestScore = score;
      best = { seq: event.seq, op: event.op, target: event.target };
    }
  }
  return best;
}
