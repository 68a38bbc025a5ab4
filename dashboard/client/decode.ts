/**
 * What an unlocked field holds, decoded from the agent's answer without touching the page: JSON,
 * header pairs, text, bytes, or a marker (a body cut by the size budget, or one the app never
 * read). `evidence.ts` renders it. No DOM here, so Node tests run it as the page does.
 * @module
 */
import type { UnlockedField } from "fluxrun/contract";

/** A decoded field value. */
export type Decoded =
  | { type: "none"; note: string }
  | { type: "json"; data: unknown }
  | { type: "headers"; pairs: [string, string][] }
  | { type: "text"; text: string }
  | { type: "binary"; bytes: Uint8Array }
  | { type: "cut"; size: number | null; sha256: string | null; unread?: true };

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
}

function isPairs(v: unknown): v is [string, string][] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === "string"))
  );
}

/** JSON text as data, or undefined when it is not a JSON object or array. */
function structured(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function ofData(data: unknown): Decoded {
  if (isPairs(data)) return { type: "headers", pairs: data };
  if (typeof data === "string") {
    const inner = structured(data);
    return inner === undefined ? { type: "text", text: data } : ofData(inner);
  }
  const cut = data as {
    truncated?: unknown;
    unread?: unknown;
    size?: unknown;
    sha256?: unknown;
  } | null;
  if (cut && typeof cut === "object" && (cut.truncated === true || cut.unread === true)) {
    return {
      type: "cut",
      size: typeof cut.size === "number" ? cut.size : null,
      sha256: typeof cut.sha256 === "string" ? cut.sha256 : null,
      ...(cut.unread === true ? { unread: true as const } : {}),
    };
  }
  return { type: "json", data };
}

/**
 * What an unlocked field holds, decoded once: the agent's `json` encoding is JSON text (parsed
 * here, never shown as text), `utf8` is text (JSON text inside it becomes data), `base64` is bytes.
 *
 * @example
 * ```ts
 * decode({ path: "6", value: '["charge result","card_declined"]', encoding: "json" });
 * // { type: "json", data: ["charge result", "card_declined"] }
 * ```
 */
export function decode(f: UnlockedField): Decoded {
  if (f.missing) return { type: "none", note: "(not in this trace)" };
  if (f.value == null) {
    return f.truncated
      ? { type: "cut", size: null, sha256: null }
      : { type: "none", note: "(empty)" };
  }
  if (f.encoding === "json") {
    try {
      return ofData(JSON.parse(f.value) as unknown);
    } catch {
      return { type: "text", text: f.value };
    }
  }
  if (f.encoding === "base64") {
    const bytes = fromBase64(f.value);
    try {
      return ofData(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      return { type: "binary", bytes };
    }
  }
  return ofData(f.value);
}
