/**
 * Unlocked values rendered by what they are: JSON as a collapsible tree, header pairs as a
 * table, text as text, binary as its size, SHA-256 digest and a download. A secret (an env value
 * read through fluxENV) stays hidden until the user confirms revealing that one field, and is
 * marked as revealed wherever it is shown.
 * @module
 */
import type { UnlockedField } from "fluxrun/contract";
import { el } from "./dom.js";

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

function scalar(v: unknown): HTMLElement {
  if (typeof v === "string") return el("span", { cls: "j-str", text: v });
  if (v === null) return el("span", { cls: "j-null", text: "null" });
  return el("span", { cls: `j-${typeof v}`, text: String(v) });
}

/** A JSON value as nested, collapsible lists (objects and arrays open two levels deep). */
function tree(v: unknown, depth = 0): HTMLElement {
  if (typeof v !== "object" || v === null) return scalar(v);
  const entries: [string, unknown][] = Array.isArray(v)
    ? v.map((x, i) => [String(i), x])
    : Object.entries(v);
  const label = Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`;
  const details = el("details", {}, [
    el("summary", { cls: "j-sum", text: label }),
    el(
      "ul",
      { cls: "j-list" },
      entries.map(([k, x]) =>
        el("li", {}, [el("span", { cls: "j-key", text: `${k}: ` }), tree(x, depth + 1)]),
      ),
    ),
  ]);
  details.open = depth < 2;
  return details;
}

function headersTable(pairs: [string, string][]): HTMLElement {
  return el("table", { cls: "hdrs" }, [
    el(
      "tbody",
      {},
      pairs.map(([k, v]) =>
        el("tr", {}, [el("th", { cls: "mono", text: k }), el("td", { cls: "mono", text: v })]),
      ),
    ),
  ]);
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function binary(bytes: Uint8Array, path: string): HTMLElement {
  const digest = el("code", { cls: "small", text: "sha256 …" });
  void sha256Hex(bytes).then((hex) => (digest.textContent = `sha256 ${hex}`));
  const link = el("a", {
    href: URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>])),
    download: `${path}.bin`,
    text: "download",
  });
  return el("div", { cls: "val bin", "data-type": "binary" }, [
    el("b", { text: `${bytes.length} bytes (binary)` }),
    " · ",
    digest,
    " · ",
    link,
  ]);
}

/**
 * The element showing a decoded value, tagged `data-type` (json, headers, text, binary, none, cut).
 *
 * @example
 * ```ts
 * box.append(view(decode(field), field.path));
 * ```
 */
export function view(d: Decoded, path: string): HTMLElement {
  switch (d.type) {
    case "none":
      return el("div", { cls: "val muted", "data-type": "none", text: d.note });
    case "cut":
      return el("div", {
        cls: "val muted",
        "data-type": "cut",
        text: `(${d.unread ? "never read by the app" : "cut by the size budget"}: not recorded${d.size != null ? ` · ${d.size} bytes` : ""}${d.sha256 ? ` · sha256 ${d.sha256}` : ""})`,
      });
    case "json":
      return el("div", { cls: "val jt", "data-type": "json" }, [tree(d.data)]);
    case "headers":
      return el("div", { cls: "val", "data-type": "headers" }, [headersTable(d.pairs)]);
    case "text":
      return el("pre", { cls: "val", "data-type": "text", text: d.text });
    case "binary":
      return binary(d.bytes, path);
  }
}

/**
 * A secret's value behind a per-field confirmation: "Reveal" asks once more, then shows the
 * value marked as a revealed secret. `onReveal` marks the other places showing the same field.
 */
export function secretGate(
  name: string,
  show: () => HTMLElement,
  onReveal: () => void,
): HTMLElement {
  const box = el("div", { cls: "secret", "data-secret": "hidden" });
  const ask = el("button", { type: "button", cls: "sec small-btn", text: `Reveal ${name}` });
  box.append(
    el("span", { cls: "tag w", text: "secret" }),
    el("span", { cls: "small muted", text: " hidden: values read through fluxENV are secrets. " }),
    ask,
  );
  ask.addEventListener("click", () => {
    const yes = el("button", { type: "button", cls: "danger small-btn", text: "Yes, reveal it" });
    const no = el("button", { type: "button", cls: "sec small-btn", text: "Cancel" });
    const prompt = el("span", { cls: "small", "data-confirm": name }, [
      `Show the secret ${name} in clear on this screen? `,
      yes,
      " ",
      no,
    ]);
    ask.replaceWith(prompt);
    no.addEventListener("click", () => prompt.replaceWith(ask));
    yes.addEventListener("click", () => {
      box.dataset.secret = "revealed";
      box.replaceChildren(revealedTag(), show());
      onReveal();
    });
  });
  return box;
}

/** The mark a revealed secret carries wherever it appears. */
export function revealedTag(): HTMLElement {
  return el("span", { cls: "tag bad-tag", "data-revealed": "1", text: "secret revealed" });
}
