/**
 * Miniflare, loaded with `require` when a command first needs it: it is one large CommonJS file
 * (about a quarter of a second to compile), and an ESM `import` of it would first run Node's
 * CommonJS export scanner over all of it. Commands that start no worker (keygen, init, policy,
 * sourcemaps) never load it.
 * @module
 */
import { createRequire } from "node:module";
import type * as MiniflareModule from "miniflare";

export type Miniflare = MiniflareModule.Miniflare;

let loaded: typeof MiniflareModule | undefined;

/** A new Miniflare instance (Miniflare is loaded on the first call). */
export function startMiniflare(options: MiniflareModule.MiniflareOptions): Miniflare {
  loaded ??= createRequire(import.meta.url)("miniflare") as typeof MiniflareModule;
  return new loaded.Miniflare(options);
}
