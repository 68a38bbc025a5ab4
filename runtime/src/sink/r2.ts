/**
 * The R2 sink: one object per trace, the summary as custom metadata. A put that does not answer
 * within `timeoutMs` (a hung connection) is abandoned and tried again, at most `retries` times;
 * a trace still not stored is given up with the drop reason `timeout` (or `unreachable` when the
 * put failed), so the recorder counts it instead of waiting until the runtime cancels the work.
 * Putting the same key twice stores the same bytes: a late first put does no harm.
 * @module
 */
import type { SinkDrops } from "../contract/ingest.js";
import { summaryMetadata, TRACE_CONTENT_TYPE } from "../contract/storage.js";
import { countDrop, sinkDrop, type SealedTrace, type TraceSink } from "./_sink.js";

export interface R2SinkOptions {
  /**
   * How long one put may take. Default 8000 ms. Keep `(retries + 1) * timeoutMs` plus the
   * backoff under the 30 s a Worker's `waitUntil` work lives after the response.
   */
  timeoutMs?: number;
  /** Puts tried again after the first one timed out or failed. Default 2. */
  retries?: number;
  /** Wait before the first retry; each retry doubles it. Default 250 ms. */
  backoffMs?: number;
  /** Waits `ms`. Default: setTimeout. Inject in tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** What the R2 sink did so far (this isolate). */
export interface R2SinkStats {
  /** Traces stored. */
  stored: number;
  /** Puts tried again. */
  retries: number;
  /** Puts abandoned because they did not answer in time. */
  timeouts: number;
  /** Traces finally given up, by reason. */
  dropped: SinkDrops;
}

/** A TraceSink that also reports its counters. */
export interface R2Sink extends TraceSink {
  stats(): R2SinkStats;
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`r2Sink option \`${name}\` must be an integer, at least ${min}`);
  }
  return v;
}

const TIMED_OUT = Symbol("timed out");

/**
 * Stores traces in an R2 bucket.
 *
 * @example
 * ```ts
 * withFlux(app, { sink: r2Sink(env.FLUX_TRACES, { timeoutMs: 5000 }) });
 * // later: sink.stats().dropped  → { timeout: 1 }
 * ```
 */
export function r2Sink(bucket: R2Bucket, options: R2SinkOptions = {}): R2Sink {
  const timeoutMs = integer("timeoutMs", options.timeoutMs, 8000, 1);
  const retries = integer("retries", options.retries, 2, 0);
  const backoffMs = integer("backoffMs", options.backoffMs, 250, 0);
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const stats: R2SinkStats = { stored: 0, retries: 0, timeouts: 0, dropped: {} };

  /** One put, or TIMED_OUT when it did not answer in time. Its timer never outlives it. */
  async function attempt(trace: SealedTrace): Promise<typeof TIMED_OUT | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    try {
      const put = bucket.put(trace.key, trace.bytes, {
        httpMetadata: { contentType: TRACE_CONTENT_TYPE },
        customMetadata: summaryMetadata(trace.summary),
      });
      return await Promise.race([put.then(() => undefined), deadline]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  return {
    name: "r2",
    async write(trace: SealedTrace) {
      let last: unknown;
      let timedOut = false;
      for (let i = 0; i <= retries; i++) {
        if (i > 0) {
          stats.retries++;
          await sleep(backoffMs * 2 ** (i - 1));
        }
        try {
          if ((await attempt(trace)) !== TIMED_OUT) {
            stats.stored++;
            return;
          }
          stats.timeouts++;
          timedOut = true;
        } catch (err) {
          last = err;
          timedOut = false;
        }
      }
      const tries = `${retries + 1} attempt${retries ? "s" : ""}`;
      if (timedOut) {
        countDrop(stats.dropped, "timeout");
        throw sinkDrop("timeout", `The R2 put did not answer within ${timeoutMs} ms on ${tries}`);
      }
      countDrop(stats.dropped, "unreachable");
      const name = last instanceof Error ? ` (${last.name})` : "";
      throw sinkDrop("unreachable", `The R2 put failed on ${tries}${name}`, last);
    },
    stats: () => ({ ...stats, dropped: { ...stats.dropped } }),
  };
}
