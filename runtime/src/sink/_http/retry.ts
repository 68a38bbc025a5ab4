/**
 * When the HTTP sink tries a batch again: exponential backoff with jitter, capped, never sooner
 * than the endpoint's `Retry-After`.
 * @module
 */

export class RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #random: () => number;

  constructor(options: {
    retries: number;
    backoffMs: number;
    maxBackoffMs: number;
    random: () => number;
  }) {
    this.retries = options.retries;
    this.#backoffMs = options.backoffMs;
    this.#maxBackoffMs = options.maxBackoffMs;
    this.#random = options.random;
  }

  /** The wait before attempt `attempt` (1 for the first retry), at least `hintMs`. */
  delay(attempt: number, hintMs: number | undefined): number {
    const base = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (attempt - 1));
    const jittered = base / 2 + (base / 2) * this.#random();
    return Math.min(this.#maxBackoffMs, Math.max(jittered, hintMs ?? 0));
  }
}

/** A `Retry-After` header in seconds, as milliseconds; dates and junk are ignored. */
export function retryAfterMs(header: string | null): number | undefined {
  const value = header?.trim();
  if (!value || !/^\d{1,6}$/.test(value)) return undefined;
  return Number(value) * 1000;
}
