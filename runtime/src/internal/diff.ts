/**
 * Structural differences between a recorded value and a replayed one, as paths with both values
 * (`url`, `headers.location`, `body.items.0.price`, `args.0.key`), so a person holding the key
 * sees which field changed and how. JSON bodies are compared field by field, text bodies as text,
 * binary bodies by size and digest. Values are plain JSON; masking happens where the report is
 * built.
 * @module
 */
import { hex, sha256 } from "./_sha256.js";
import { isTruncated, sameValue } from "./values.js";

import type { DiffEntry } from "../contract/report.js";
export type { DiffEntry };

/** At most this many entries per difference list (the first ones in path order). */
const MAX_ENTRIES = 24;
/** Text values are cut to this many characters. */
const MAX_TEXT = 200;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function bytesView(bytes: Uint8Array): string {
  return `<${bytes.length} bytes sha256:${hex(sha256(bytes)).slice(0, 16)}>`;
}

/** A value as plain JSON for a report. */
export function plain(value: unknown): unknown {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return bytesView(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return cut(value);
  if (isTruncated(value)) return `<${value.size} bytes, cut, sha256:${value.sha256.slice(0, 16)}>`;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** A body as JSON, text, or bytes: the form its differences are shown in. */
function bodyValue(body: unknown): unknown {
  if (!(body instanceof Uint8Array)) return body;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return body;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

/** Differences between two values, by path. */
export function diffValues(expected: unknown, actual: unknown, path = ""): DiffEntry[] {
  const out: DiffEntry[] = [];
  walk(expected, actual, path, out);
  return out;
}

function walk(expected: unknown, actual: unknown, path: string, out: DiffEntry[]): void {
  if (out.length >= MAX_ENTRIES || sameValue(expected, actual)) return;
  const at = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (isRecord(expected) && isRecord(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const k of keys) walk(expected[k], actual[k], at(k), out);
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) walk(expected[i], actual[i], at(i), out);
    return;
  }
  if (expected instanceof Uint8Array || actual instanceof Uint8Array) {
    const e = bodyValue(expected);
    const a = bodyValue(actual);
    if (
      !(e instanceof Uint8Array) &&
      !(a instanceof Uint8Array) &&
      (isRecord(e) || Array.isArray(e))
    ) {
      walk(e, a, path, out);
      return;
    }
    out.push({ path: path || "value", expected: plain(e), actual: plain(a) });
    return;
  }
  out.push({ path: path || "value", expected: plain(expected), actual: plain(actual) });
}

type Pairs = readonly (readonly [string, string])[];

function headerMap(pairs: Pairs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, v] of pairs ?? []) {
    const k = n.toLowerCase();
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  }
  return out;
}

function isHttp(v: unknown): v is { headers?: Pairs; body?: unknown } {
  return isRecord(v) && Array.isArray(v.headers) && ("url" in v || "status" in v);
}

/**
 * Differences between a recorded and a replayed request or response: HTTP messages by method,
 * URL, status, each header's value (`headers.<name>`) and body (JSON fields under `body`), any
 * other value structurally.
 */
export function diffMessages(expected: unknown, actual: unknown): DiffEntry[] {
  if (!isHttp(expected) || !isHttp(actual)) return diffValues(expected, actual);
  const out: DiffEntry[] = [];
  for (const key of ["method", "url", "status"] as const) {
    const e = (expected as Record<string, unknown>)[key];
    const a = (actual as Record<string, unknown>)[key];
    if (e !== undefined || a !== undefined) walk(e, a, key, out);
  }
  walk(headerMap(expected.headers), headerMap(actual.headers), "headers", out);
  walk(expected.body ?? null, actual.body ?? null, "body", out);
  return out;
}
