/**
 * Redaction of an opened trace for an unsealed guard fixture (`fluxrun guard --redacted`).
 *
 * Every secret value seen anywhere in the trace is collected first: env values read through
 * `fluxENV` or under a secret-looking name, masked header values, the values of masked JSON
 * fields (`maskFields`) in any body, and query parameters named like credentials (or like a
 * masked header or field) in any URL. Masked headers and fields are then replaced where they
 * stand, and every occurrence of every collected value (also URL-encoded) is replaced in every
 * string and byte string of the trace (console arguments, bodies, URLs, headers, error messages
 * and stacks, binding and host-call arguments and results, the clear head).
 *
 * A value is replaced by the same token wherever it appears (`REDACTED_<12 hex>`, an HMAC of the
 * value under the trace's data key: not reversible without it, and plain ASCII so it reads the
 * same raw, URL-encoded and in JSON). So replay stays consistent: the app reads the token from
 * env, builds the same URL and header the fixture holds, and echoes the token where it echoed
 * the secret.
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import type { PlainTrace } from "../trace/seal.js";

/** Env names that hold secrets when read as plain vars (fluxENV reads are always redacted). */
export const SECRET_NAME = /key|secret|token|passw|auth|credential|private|session|cookie|sig/i;

/** Values shorter than this are masked where they stand only, never replaced everywhere. */
const MIN_SECRET_LENGTH = 4;

/** The fixture's token for a secret value. */
async function tokenFor(dataKey: Uint8Array, value: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    dataKey as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`fluxrun fixture redaction\0${value}`),
  );
  return `REDACTED_${bytesToHex(new Uint8Array(mac).subarray(0, 6))}`;
}

function fieldMatches(pattern: string, path: string): boolean {
  if (path === pattern || path.startsWith(`${pattern}.`)) return true;
  const p = pattern.split(".");
  const q = path.split(".");
  return p.length <= q.length && p.every((part, i) => part === "*" || part === q[i]);
}

/** Calls `visit` on every value of a JSON document with its dotted path. */
function walkJson(value: unknown, path: string, visit: (path: string, v: unknown) => void): void {
  visit(path, value);
  if (Array.isArray(value)) value.forEach((v, i) => walkJson(v, join(path, String(i)), visit));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) walkJson(v, join(path, k), visit);
  }
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Every string leaf of a value (a JSON env var's strings). */
function leaves(value: unknown, out: string[]): void {
  if (typeof value === "string") out.push(value);
  else if (typeof value === "number" || typeof value === "bigint") out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) leaves(v, out);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function jsonOf(bytes: Uint8Array): unknown {
  try {
    const text = utf8.decode(bytes).trim();
    if (!text.startsWith("{") && !text.startsWith("[")) return undefined;
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The HTTP-shaped parts of a payload: the payload itself, its `request` and its `result`. */
function httpParts(payload: unknown): Record<string, unknown>[] {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return [];
  const p = payload as Record<string, unknown>;
  return [p, p.request, p.result].filter(
    (x): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x),
  );
}

interface Masks {
  headers: ReadonlySet<string>;
  fields: readonly string[];
  /** Query parameter names that hold credentials. */
  param(name: string): boolean;
}

/** Collects the secret values of one payload. */
function collect(
  payload: unknown,
  event: PlainTrace["head"]["events"][number] | undefined,
  masks: Masks,
  out: Set<string>,
): void {
  if (event?.kind === "env" && (event.op === "get" || SECRET_NAME.test(event.target))) {
    const values: string[] = [];
    leaves(payload, values);
    for (const v of values) out.add(v);
  }
  for (const part of httpParts(payload)) {
    if (Array.isArray(part.headers)) {
      for (const pair of part.headers as unknown[]) {
        if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string")
          continue;
        if (masks.headers.has(pair[0].toLowerCase())) out.add(pair[1]);
      }
    }
    if (typeof part.url === "string") {
      try {
        for (const [name, value] of new URL(part.url).searchParams) {
          if (masks.param(name)) out.add(value);
        }
      } catch {
        // not a URL: nothing to collect
      }
    }
    if (part.body instanceof Uint8Array && masks.fields.length) {
      const doc = jsonOf(part.body);
      if (doc !== undefined) {
        walkJson(doc, "", (path, v) => {
          if (path && masks.fields.some((f) => fieldMatches(f, path))) {
            const values: string[] = [];
            leaves(v, values);
            for (const s of values) out.add(s);
          }
        });
      }
    }
  }
}

/** Masked headers and JSON fields replaced where they stand (any length, any type). */
function maskInPlace(payload: unknown, masks: Masks, tokens: Map<string, string>): unknown {
  for (const part of httpParts(payload)) {
    if (Array.isArray(part.headers)) {
      part.headers = (part.headers as unknown[]).map((pair) =>
        Array.isArray(pair) &&
        typeof pair[0] === "string" &&
        typeof pair[1] === "string" &&
        masks.headers.has(pair[0].toLowerCase())
          ? [pair[0], tokens.get(pair[1]) ?? pair[1]]
          : pair,
      );
    }
    if (part.body instanceof Uint8Array && masks.fields.length) {
      const doc = jsonOf(part.body);
      if (doc === undefined || typeof doc !== "object" || doc === null) continue;
      let changed = false;
      const replace = (value: unknown, path: string): unknown => {
        if (path && masks.fields.some((f) => fieldMatches(f, path))) {
          changed = true;
          return typeof value === "string" || typeof value === "number"
            ? (tokens.get(String(value)) ?? "REDACTED")
            : "REDACTED";
        }
        if (Array.isArray(value)) return value.map((v, i) => replace(v, join(path, String(i))));
        if (value !== null && typeof value === "object") {
          return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, replace(v, join(path, k))]),
          );
        }
        return value;
      };
      const masked = replace(doc, "");
      if (changed) part.body = new TextEncoder().encode(JSON.stringify(masked));
    }
  }
  return payload;
}

/** Each secret's forms (raw, URL-encoded, form-encoded) and what each becomes. */
function replacements(tokens: Map<string, string>): [string, string][] {
  const pairs = new Map<string, string>();
  for (const [secret, token] of tokens) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    pairs.set(secret, token);
    pairs.set(encodeURIComponent(secret), token);
    pairs.set(encodeURIComponent(secret).replace(/%20/g, "+"), token);
    pairs.set(JSON.stringify(secret).slice(1, -1), token);
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...pairs].sort((a, b) => b[0].length - a[0].length);
}

function replaceText(text: string, pairs: readonly [string, string][]): string {
  let out = text;
  for (const [from, to] of pairs) if (out.includes(from)) out = out.split(from).join(to);
  return out;
}

/** Every occurrence of every secret replaced in every string and byte string of `value`. */
function scrub(value: unknown, pairs: readonly [string, string][]): unknown {
  if (typeof value === "string") return replaceText(value, pairs);
  if (value instanceof Uint8Array) {
    let text: string;
    try {
      text = utf8.decode(value);
    } catch {
      // Binary: replaced as latin1, so every byte survives that is not a secret's.
      const latin = Array.from(value, (b) => String.fromCharCode(b)).join("");
      const pairsLatin = pairs.map(
        ([from, to]) =>
          [
            Array.from(new TextEncoder().encode(from), (b) => String.fromCharCode(b)).join(""),
            to,
          ] as [string, string],
      );
      const replaced = replaceText(latin, pairsLatin);
      return replaced === latin ? value : Uint8Array.from(replaced, (c) => c.charCodeAt(0));
    }
    const replaced = replaceText(text, pairs);
    return replaced === text ? value : new TextEncoder().encode(replaced);
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, pairs));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[replaceText(k, pairs)] = scrub(v, pairs);
    return out;
  }
  return value;
}

/**
 * The trace with every copy of every secret replaced by its token (see the module notes). The
 * head keeps its shape; only strings change.
 *
 * @example
 * ```ts
 * const plain = await redactTrace(await openTrace(bytes, key));
 * ```
 */
export async function redactTrace(
  trace: PlainTrace & { dataKey: Uint8Array },
): Promise<PlainTrace> {
  const headerNames = new Set(trace.head.masks.headers.map((h) => h.toLowerCase()));
  const fieldNames = new Set(
    trace.head.masks.fields.map((f) => f.split(".").pop()!.toLowerCase()).filter((f) => f !== "*"),
  );
  const masks: Masks = {
    headers: headerNames,
    fields: trace.head.masks.fields,
    param: (name) =>
      SECRET_NAME.test(name) ||
      headerNames.has(name.toLowerCase()) ||
      fieldNames.has(name.toLowerCase()),
  };
  const secrets = new Set<string>();
  const payloads = structuredClone(trace.payloads);
  payloads.forEach((p, i) => collect(p, trace.head.events[i], masks, secrets));
  secrets.delete("");
  const tokens = new Map<string, string>();
  for (const s of secrets) tokens.set(s, await tokenFor(trace.dataKey, s));
  const pairs = replacements(tokens);
  const masked = payloads.map((p) => maskInPlace(p, masks, tokens));
  return {
    head: scrub(trace.head, pairs) as PlainTrace["head"],
    payloads: masked.map((p) => scrub(p, pairs)),
  };
}
