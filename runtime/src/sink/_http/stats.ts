/**
 * The HTTP sink's counters.
 * @module
 */

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
  /** Traces given up on after every retry. */
  failed: number;
  /** Traces dropped because the queue was full. */
  dropped: number;
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
    dropped: 0,
    retries: 0,
    batches: 0,
    lastStatus: null,
  };
}
