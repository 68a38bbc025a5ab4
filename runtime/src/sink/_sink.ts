/**
 * Where sealed traces go. Workers write to R2; other runtimes use the filesystem or HTTP sinks.
 * The key layout and metadata every sink writes are the storage contract's.
 * @module
 */
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
