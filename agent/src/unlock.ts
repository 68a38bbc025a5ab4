/**
 * Resolving named payload fields. Masked header values and masked JSON fields come back as
 * deterministic `[masked:…]` tokens unless the path names the header itself.
 * @module
 */
import { redactionToken, type PlainTrace } from "fluxrun/trace";
import { FIELD_PATH, MAX_UNLOCK_FIELDS, type UnlockedField } from "fluxrun/contract";
import { AgentError } from "./errors.js";

type Pairs = [string, string][];

function isPairs(v: unknown): v is Pairs {
  return (
    Array.isArray(v) &&
    v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string")
  );
}

function encode(value: unknown): Pick<UnlockedField, "value" | "encoding" | "truncated"> {
  if (value instanceof Uint8Array) {
    try {
      return {
        value: new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(value),
        encoding: "utf8",
      };
    } catch {
      let bin = "";
      for (const b of value) bin += String.fromCharCode(b);
      return { value: btoa(bin), encoding: "base64" };
    }
  }
  if (
    typeof value === "object" &&
    value !== null &&
    (value as { truncated?: unknown }).truncated === true
  ) {
    return { truncated: true, value: JSON.stringify(value), encoding: "json" };
  }
  if (typeof value === "string") return { value, encoding: "utf8" };
  return {
    value: JSON.stringify(value, (_k, v: unknown) =>
      v instanceof Uint8Array ? `<${v.length} bytes>` : v,
    ),
    encoding: "json",
  };
}

async function maskJson(
  body: Uint8Array,
  fields: readonly string[],
  dataKey: Uint8Array,
): Promise<{ body: Uint8Array; masked: boolean }> {
  if (!fields.length) return { body, masked: false };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    return { body, masked: false };
  }
  let masked = false;
  const walk = async (v: unknown, parts: string[]): Promise<void> => {
    if (typeof v !== "object" || v === null || !parts.length) return;
    const [head, ...rest] = parts as [string, ...string[]];
    for (const k of head === "*" ? Object.keys(v) : [head]) {
      const obj = v as Record<string, unknown>;
      if (!(k in obj)) continue;
      if (rest.length) await walk(obj[k], rest);
      else {
        obj[k] = await redactionToken(dataKey, k, JSON.stringify(obj[k]));
        masked = true;
      }
    }
  };
  for (const f of fields) await walk(json, f.split("."));
  return { body: new TextEncoder().encode(JSON.stringify(json)), masked };
}

/** Resolves each named field of an opened trace. */
export async function unlockFields(
  trace: PlainTrace & { dataKey: Uint8Array },
  paths: readonly string[],
): Promise<UnlockedField[]> {
  if (!Array.isArray(paths) || paths.length === 0)
    throw new AgentError(
      "ERR_BAD_REQUEST",
      "Name the fields to unlock: there is no default of everything",
    );
  if (paths.length > MAX_UNLOCK_FIELDS)
    throw new AgentError("ERR_BAD_REQUEST", `Unlock at most ${MAX_UNLOCK_FIELDS} fields at a time`);
  const maskedHeaders = new Set(trace.head.masks.headers.map((h) => h.toLowerCase()));
  const out: UnlockedField[] = [];
  for (const path of paths) {
    if (typeof path !== "string" || !FIELD_PATH.test(path))
      throw new AgentError(
        "ERR_BAD_REQUEST",
        "A field path is <seq>.<name>[.<name>...], for example 6.result.body",
      );
    const [first, ...parts] = path.split(".");
    const seq = Number(first);
    const event = trace.head.events[seq];
    let value: unknown = event ? trace.payloads[seq] : undefined;
    let maskedAny = false;
    for (let i = 0; i < parts.length && value !== undefined; i++) {
      const part = parts[i]!;
      if (isPairs(value)) {
        // A header by name: naming it is the explicit intent that reveals a masked value.
        const values = value
          .filter(([n]) => n.toLowerCase() === part.toLowerCase())
          .map(([, v]) => v);
        value = values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
      } else if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) {
        value = (value as Record<string, unknown>)[part];
      } else value = undefined;
    }
    if (!event || value === undefined) {
      out.push({ path, missing: true });
      continue;
    }
    if (isPairs(value)) {
      value = await Promise.all(
        value.map(async ([n, v]) => {
          if (!maskedHeaders.has(n.toLowerCase())) return [n, v] as [string, string];
          maskedAny = true;
          return [n, await redactionToken(trace.dataKey, n, v)] as [string, string];
        }),
      );
    }
    if (value instanceof Uint8Array && parts.at(-1) === "body") {
      const r = await maskJson(value, trace.head.masks.fields, trace.dataKey);
      value = r.body;
      maskedAny ||= r.masked;
    }
    out.push({ path, ...encode(value), ...(maskedAny ? { masked: true as const } : {}) });
  }
  return out;
}
