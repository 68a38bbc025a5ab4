/**
 * Miniflare, loaded with `require`: it is one large CommonJS file, and an ESM `import` of it
 * first runs Node's CommonJS export scanner over all of it (a few hundred ms of a cold CLI run).
 * @module
 */
import { createRequire } from "node:module";
import type * as MiniflareModule from "miniflare";

const require = createRequire(import.meta.url);

export const { Miniflare } = require("miniflare") as typeof MiniflareModule;
export type Miniflare = MiniflareModule.Miniflare;
