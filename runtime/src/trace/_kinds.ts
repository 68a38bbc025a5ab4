/**
 * The trace format's names and enumerations, free of any schema library: the recording path
 * imports these, {@link module:schema} builds its zod schemas on them.
 * @module
 */

export const TRACE_FORMAT = "fluxrun/trace";
/** The format version recorders write. Readers read every version from 1 up to it. */
export const TRACE_VERSION = 3;

/** Boundary kinds a trace event can have. */
export const EVENT_KINDS = [
  "request",
  "response",
  "exception",
  "fetch",
  "host",
  "env",
  "clock",
  "random",
  "console",
  "binding",
  "cache",
  "storage",
  "incoming",
  "unsupported",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * What started an execution: an HTTP request, a cron trigger, a queue batch, an email, a JS RPC
 * call on an entrypoint or Durable Object, or a Durable Object alarm.
 */
export const HANDLER_KINDS = ["fetch", "scheduled", "queue", "email", "rpc", "alarm"] as const;
export type HandlerKind = (typeof HANDLER_KINDS)[number];

export const OUTCOMES = ["ok", "error", "exception"] as const;
export type Outcome = (typeof OUTCOMES)[number];
