/**
 * Unlocked values rendered by what they are: JSON as a collapsible tree, header pairs as a
 * table, text as text, binary as its size, SHA-256 digest and a download. A secret (an env value
 * read through fluxENV) stays hidden until the user confirms revealing that one field, and is
 * marked as revealed wherever it is shown.
 * @module
 */
import { el } from "./dom.js";
import type { Decoded } from "./decode.js";

export { decode, type Decoded } from "./decode.js";

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
