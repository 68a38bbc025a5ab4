/**
 * A spool: where the HTTP sink keeps traces durably while ingest is unreachable (or its memory
 * queue is full), until they can be sent again. A disk directory on Node and Deno
 * ({@link module:fs-spool}), a Cloudflare Queue on Workers ({@link module:queue-spool}).
 * @module
 */
import type { SealedTrace } from "./_sink.js";

/** What a spool did with a trace: kept it, or why not. */
export type SpoolAdmission = "kept" | "spool_full" | "too_large";

/** A trace taken back out of a spool to send again. */
export interface Respool {
  readonly trace: SealedTrace;
  /** The spool's handle, passed back to `remove`. */
  readonly ref: string;
}

/** A durable buffer for traces the HTTP sink could not deliver yet. */
export interface TraceSpool {
  readonly name: string;
  /** Keeps a trace durably. Rejects only when the spool itself failed (a disk error). */
  put(trace: SealedTrace): Promise<SpoolAdmission>;
  /**
   * The oldest spooled traces, at most `max`, for the sink to send again; absent on a spool its
   * own consumer drains (a Queue: the queue handler sends them).
   */
  take?(max: number): Promise<Respool[]>;
  /** Forgets traces that were delivered or refused for good. */
  remove?(refs: readonly string[]): Promise<void>;
}
