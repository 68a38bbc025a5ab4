/**
 * Where sealed traces go. Workers write to R2; other runtimes use the filesystem or HTTP sinks.
 * The key layout and metadata every sink writes are the storage contract's.
 * @module
 */
import type { SinkDropReason, SinkDrops } from "../contract/ingest.js";
import { FluxError, isFluxError } from "../errors.js";
import type { TraceSummary } from "../trace/schema.js";

export { traceKey, tracePrefix, summaryMetadata } from "../contract/storage.js";

/** One sealed trace ready to store. */
export interface SealedTrace {
  /** Storage key ({@link traceKey}): lists by app, then time. */
  key: string;
  bytes: Uint8Array;
  summary: TraceSummary;
}

/** A destination for sealed traces. `write` may throw; the recorder counts and reports it. */
export interface TraceSink {
  readonly name: string;
  write(trace: SealedTrace): Promise<void>;
  /** Sinks that batch send what they hold (call before shutdown). */
  flush?(): Promise<void>;
}

/** An ERR_SINK_WRITE naming why the trace was finally dropped. */
export interface SinkDropError extends FluxError {
  readonly code: "ERR_SINK_WRITE";
  readonly dropReason: SinkDropReason;
}

/**
 * The error a sink rejects a write with when it gives the trace up: ERR_SINK_WRITE carrying the
 * drop reason the recorder counts ({@link dropReasonOf}).
 *
 * @example
 * ```ts
 * throw sinkDrop("timeout", "The R2 put did not answer within 8000 ms on 3 attempts");
 * ```
 */
export function sinkDrop(reason: SinkDropReason, message: string, cause?: unknown): SinkDropError {
  const err = new FluxError("ERR_SINK_WRITE", message, cause === undefined ? undefined : { cause });
  Object.defineProperty(err, "dropReason", { value: reason, enumerable: true });
  return err as SinkDropError;
}

/**
 * Why a failed write lost its trace: the reason a sink gave, else `unreachable` for a sink
 * error and anything a custom sink threw.
 *
 * @example
 * ```ts
 * drops[dropReasonOf(err)]++;
 * ```
 */
export function dropReasonOf(err: unknown): SinkDropReason {
  const reason = isFluxError(err) ? (err as Partial<SinkDropError>).dropReason : undefined;
  return reason ?? "unreachable";
}

/**
 * Adds one drop to a count by reason.
 *
 * @example
 * ```ts
 * countDrop(stats.dropped, "overflow");
 * ```
 */
export function countDrop(drops: SinkDrops, reason: SinkDropReason, n = 1): void {
  drops[reason] = (drops[reason] ?? 0) + n;
}
