/**
 * Schema checks of decoded untrusted values that stop at the first issue. zod otherwise collects
 * one issue per bad element: a head of 100 k empty events costs half a million issues (hundreds
 * of MB) and overflows the stack when zod spreads them.
 * @module
 */
import type * as z from "zod/mini";

/**
 * `abortEarly` is the flag zod's own `validate` sets; `safeParse` honours it from its context.
 * The hostile-input tests (run under a memory limit) notice if a zod upgrade drops it.
 */
const FIRST_ISSUE = {
  reportInput: false,
  abortEarly: true,
} as z.core.ParseContext<z.core.$ZodIssue>;

/** The longest issue path a message shows: keys of untrusted records can be long. */
const MAX_PATH = 120;

/**
 * Checks `value` against `schema`, stopping at the first issue; on failure, says where.
 *
 * @example
 * ```ts
 * const head = checkFirst(TraceHead, decoded);
 * if (!head.success) throw new FluxError("ERR_TRACE_SCHEMA", `... (at ${head.path})`);
 * ```
 */
export function checkFirst<T extends z.ZodMiniType>(
  schema: T,
  value: unknown,
): { success: true; data: z.output<T> } | { success: false; path: string } {
  const result = schema.safeParse(value, FIRST_ISSUE);
  if (result.success) return { success: true, data: result.data };
  const path = result.error.issues[0]?.path.map(String).join(".") || "root";
  return {
    success: false,
    path: path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path,
  };
}
