/**
 * Console calls: level and arguments (sealed). Output still goes to the real console. The site
 * of a call that logs an Error is the error's own stack: where it was thrown.
 * @module
 */
import { currentSession } from "../internal/session.js";
import { consoleMethods } from "../originals.js";
import { errorData, inDataModel, safeString } from "../internal/values.js";
import { captureSite } from "../internal/site.js";
import type { GlobalBoundary } from "./_boundary.js";

const LEVELS = ["log", "info", "warn", "error", "debug"] as const;

/** A console argument as the trace keeps it: errors as data, anything else it cannot hold as text. */
function recordable(arg: unknown): unknown {
  if (arg instanceof Error) return errorData(arg);
  return inDataModel(arg) ? arg : safeString(arg);
}

export const consoleBoundary: GlobalBoundary = {
  name: "console",
  install() {
    for (const level of LEVELS) {
      const original = consoleMethods[level];
      const patched = (...args: unknown[]) => {
        const session = currentSession();
        if (session) {
          const err = args.find((a): a is Error => a instanceof Error);
          session.note(
            "console",
            level,
            "console",
            args.map(recordable),
            err ? { error: err.name } : {},
            // A logged error's site is where it was thrown (the logger's line says little).
            err && typeof err.stack === "string"
              ? { stack: err.stack }
              : session.sampled
                ? captureSite(patched)
                : undefined,
          );
          if (session.mode === "replay") return;
        }
        original(...args);
      };
      (globalThis as unknown as { console: Console }).console[level] = patched;
    }
  },
};
