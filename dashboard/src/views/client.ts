/**
 * The page scripts, bundled from `dashboard/client/*.ts` (TypeScript) by
 * `scripts/build-client.mjs` at build time, as markup the page shell inlines by CSP nonce.
 * @module
 */
import {
  DIAGNOSTICS_SCRIPT,
  EXECUTION_SCRIPT,
  LIST_SCRIPT,
  PAIR_SCRIPT,
  SHELL_SCRIPT,
} from "./_client.gen.js";
import { raw, type Html } from "./html.js";

/** Every page: the workspace switcher. */
export const shellScript: Html = raw(SHELL_SCRIPT);
/** The executions list: row links and the custom time range. */
export const listScript: Html = raw(LIST_SCRIPT);
/** The execution page: Unlock, Replay, Save as guard, through the agent. */
export const executionScript: Html = raw(EXECUTION_SCRIPT);
/** Diagnostics: the agent's health, checked from the browser. */
export const diagnosticsScript: Html = raw(DIAGNOSTICS_SCRIPT);
/** Pair a local agent: the claim-code exchange between the connector and the dashboard. */
export const pairScript: Html = raw(PAIR_SCRIPT);
