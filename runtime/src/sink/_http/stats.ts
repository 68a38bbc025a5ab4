/**
 * The HTTP sink's counters.
 * @module
 */
import type { SinkDrops } from "../../contract/ingest.js";

/** What the sink did so far. */
export interface HttpSinkStats {
  /** Traces waiting or in flight now. */
  queued: number;
  /** Traces the dashboard acknowledged (stored or duplicate). */
  sent: number;
  /** Of `sent`, traces the dashboard already had. */
  duplicates: number;
  /** Writes of a trace id already sent or queued: not sent again. */
  skipped: number;
  /** Traces the dashboard refused (4xx, or `rejected` in its results). */
  rejected: number;
  /** Traces not delivered after every retry (then spooled, or dropped). */
  failed: number;
  /** Traces kept in the spool (ingest unreachable, or the memory queue full). */
  spooled: number;
  /** Spooled traces delivered later. */
  drained: number;
  /** Traces finally lost, by reason (`overflow`, `spool_full`, `rejected`, `timeout`...). */
  dropped: SinkDrops;
  /** Retry attempts made. */
  retries: number;
  /** Requests answered 2xx. */
  batches: number;
  /** Status of the last answer, or null. */
  lastStatus: number | null;
}

/** Zeroed counters. */
export function emptyStats(): HttpSinkStats {
  return {
    queued: 0,
    sent: 0,
    duplicates: 0,
    skipped: 0,
    rejected: 0,
    failed: 0,
    spooled: 0,
    drained: 0,
    dropped: {},
    retries: 0,
    batches: 0,
    lastStatus: null,
  };
}
