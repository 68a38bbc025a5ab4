/**
 * DOM helpers for the dashboard's page scripts: elements from data, state boxes, busy buttons,
 * and the page's embedded configuration.
 * @module
 */
import { PAGE_CONFIG_ID } from "../src/browser.js";

type Child = Node | string | null | undefined | false;

/**
 * An element with attributes (`text` sets its text, `cls` its class) and children.
 *
 * @example
 * ```ts
 * el("p", { cls: "small", text: "Hello" });
 * ```
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "cls") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/** The page's configuration (a JSON script element the server rendered). */
export function pageConfig<T>(): T {
  return JSON.parse(document.getElementById(PAGE_CONFIG_ID)?.textContent ?? "{}") as T;
}

/** An element the page must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The page has no #${id}`);
  return node as T;
}

/** Disables a button and shows it working, or restores it. */
export function busy(button: HTMLButtonElement, on: boolean): void {
  button.dataset.label ??= button.textContent ?? "";
  button.disabled = on;
  button.textContent = on ? "Working…" : button.dataset.label;
}
