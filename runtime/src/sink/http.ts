/**
 * The HTTP ingest sink: sends sealed traces to the dashboard's `POST /v1/ingest` in batches,
 * retried with exponential backoff, with bounded memory. Works on Workers, Deno and Node. The
 * wire format, statuses and retry rules are the ingest contract's (`fluxrun/contract`).
 *
 * Four parts: a {@link TraceQueue} (bounded, one entry per trace id), a {@link Delivery} (one
 * attempt at one batch), a {@link RetryPolicy} (when to try again) and the counters
 * ({@link HttpSinkStats}); the pump here moves batches from the first through the others.
 *
 * With a `spool` ({@link TraceSpool}: a directory on Node and Deno, a Queue on Workers), a trace
 * is kept there instead of lost when ingest stays unreachable after every retry or the memory
 * queue is full, and sent again when ingest answers. Whatever is finally lost is counted by
 * reason in `stats().dropped`, and reported to the dashboard with the next batch it accepts.
 * @module
 */
import {
  INGEST_LIMITS,
  INGEST_PATH,
  SINK_DROP_REASONS,
  type IngestEncoding,
  type SinkDropReason,
  type SinkDrops,
} from "../contract/ingest.js";
import { fetch as hostFetch, mathRandom } from "../originals.js";
import { countDrop, sinkDrop, type SealedTrace, type TraceSink } from "./_sink.js";
import type { TraceSpool } from "./_spool.js";
import { Delivery, type Attempt, type SendFn } from "./_http/delivery.js";
import { TraceQueue, type Entry } from "./_http/queue.js";
import { RetryPolicy } from "./_http/retry.js";
import { emptyStats, type HttpSinkStats } from "./_http/stats.js";

export type { HttpSinkStats };

export interface HttpSinkOptions {
  /** Dashboard base URL; traces go to `${url}/v1/ingest`. https, or http on loopback only. */
  url: string;
  /** The app's ingest token, sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Traces per request, at most 100. Default 20. */
  batchSize?: number;
  /** Traces held (waiting or in flight) at most; more are dropped and counted. Default 100. */
  maxQueue?: number;
  /** Retries after the first attempt of a batch. Default 4. */
  retries?: number;
  /** Request body encoding. Default `"cbor"`. */
  encoding?: IngestEncoding;
  /** Bytes of trace data per request at most (one trace always fits). Default 8 MiB; at most two thirds of the ingest body limit. */
  maxBatchBytes?: number;
  /** First retry delay; each retry doubles it (with jitter), up to `maxBackoffMs`. Default 500. */
  backoffMs?: number;
  /** Longest delay between attempts. Default 30 000. */
  maxBackoffMs?: number;
  /** How long a partial batch waits for more traces. Default 50 ms. */
  lingerMs?: number;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * Where traces wait while ingest is unreachable or the memory queue is full:
   * `fsSpool(dir)` on Node and Deno, `queueSpool(env.FLUX_SPOOL)` on Workers. Default none: such
   * traces are dropped (and counted).
   */
  spool?: TraceSpool;
  /** Sends a request. Default: the host's own fetch, never recorded. Inject in tests. */
  fetch?: SendFn;
  /** Waits `ms`. Default: setTimeout. Inject in tests to freeze time. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). Default: the host's Math.random. */
  random?: () => number;
}

const noop = () => {};

/** What became of a trace sent again from a spool. */
export type Redelivery = "delivered" | "rejected" | "failed";

/** A TraceSink that also reports its counters and can be drained. */
export interface HttpSink extends TraceSink {
  stats(): HttpSinkStats;
  /** Sends everything queued now, without waiting for a batch to fill; then tries the spool. */
  flush(): Promise<void>;
  /** Sends the spool's traces again (one attempt per batch; stops while ingest fails). */
  drain(): Promise<void>;
  /**
   * Sends spooled traces once each (a queue handler's batch): what became of each, in order.
   * Refused traces count as dropped `rejected`; `failed` ones are for the spool to keep.
   */
  redeliver(traces: readonly SealedTrace[]): Promise<Redelivery[]>;
}

function integer(
  name: string,
  value: number | undefined,
  fallback: number,
  range: { min: number; max?: number },
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < range.min || v > (range.max ?? Number.MAX_SAFE_INTEGER)) {
    const bounds = range.max === undefined ? `at least ${range.min}` : `${range.min}..${range.max}`;
    throw new RangeError(`httpSink option \`${name}\` must be an integer, ${bounds}`);
  }
  return v;
}

function ingestUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError("httpSink option `url` must be an absolute URL");
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    throw new TypeError("httpSink option `url` must use https (http only on 127.0.0.1/localhost)");
  }
  if (u.search || u.hash) throw new TypeError("httpSink option `url` takes no query or fragment");
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}${INGEST_PATH}`;
}

/**
 * Sends traces to the dashboard's ingest endpoint. `write` resolves once the trace is delivered
 * (or rejects with ERR_SINK_WRITE when it was dropped, refused or given up on); the recorder runs it
 * after the response, so a slow or failing dashboard never affects the handler.
 *
 * @example
 * ```ts
 * import { withFlux, httpSink } from "fluxrun/deno";
 * const sink = httpSink({ url: "https://flux.example.com", token: Deno.env.get("FLUX_INGEST")! });
 * Deno.serve(withFlux(handler, { app: "shop-api", sink }));
 * // later: sink.stats().dropped
 * ```
 */
export function httpSink(options: HttpSinkOptions): HttpSink {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("httpSink needs { url, token }");
  }
  const endpoint = ingestUrl(options.url);
  const token = options.token;
  if (typeof token !== "string" || token.length === 0 || /[\s\0]/.test(token)) {
    throw new TypeError("httpSink option `token` must be a non-empty token without whitespace");
  }
  const encoding = options.encoding ?? "cbor";
  if (encoding !== "cbor" && encoding !== "json") {
    throw new TypeError('httpSink option `encoding` must be "cbor" or "json"');
  }
  const batchSize = integer("batchSize", options.batchSize, 20, {
    min: 1,
    max: INGEST_LIMITS.maxItems,
  });
  const maxBatchBytes = integer("maxBatchBytes", options.maxBatchBytes, 8 * 1024 * 1024, {
    min: 1,
    // Room in the ingest body for base64 (JSON) and the summaries.
    max: Math.floor((INGEST_LIMITS.maxBodyBytes * 2) / 3),
  });
  const lingerMs = integer("lingerMs", options.lingerMs, 50, { min: 0 });
  const queue = new TraceQueue({
    maxQueue: integer("maxQueue", options.maxQueue, 100, { min: 1 }),
  });
  const retry = new RetryPolicy({
    retries: integer("retries", options.retries, 4, { min: 0 }),
    backoffMs: integer("backoffMs", options.backoffMs, 500, { min: 0 }),
    maxBackoffMs: integer("maxBackoffMs", options.maxBackoffMs, 30_000, { min: 0 }),
    random: options.random ?? mathRandom,
  });
  const delivery = new Delivery({
    endpoint,
    token,
    encoding,
    timeoutMs: integer("timeoutMs", options.timeoutMs, 10_000, { min: 1 }),
    send: options.fetch ?? ((url, init) => hostFetch(url, init)),
  });
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const spool = options.spool;
  const stats = emptyStats();
  /** Drops not yet acknowledged by the dashboard (sent with the next batch). */
  const unreported: SinkDrops = {};
  /** True while the spool may hold traces (unknown at start: a previous process may have left some). */
  let spoolHolds = spool?.take !== undefined;
  let running: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let flushing = 0;

  function drop(reason: SinkDropReason, n = 1): void {
    countDrop(stats.dropped, reason, n);
    countDrop(unreported, reason, n);
  }

  /** The batch's request, carrying the drops not yet reported. */
  function prepare(traces: readonly SealedTrace[]) {
    const reported: SinkDrops = { ...unreported };
    return { request: delivery.prepare(traces, reported), reported };
  }

  /** The dashboard answered: the drops it was sent are reported. */
  function acknowledged(reported: SinkDrops): void {
    for (const reason of SINK_DROP_REASONS) {
      const n = reported[reason];
      if (n) unreported[reason] = (unreported[reason] ?? 0) - n;
      if (unreported[reason] === 0) delete unreported[reason];
    }
  }

  /** Keeps a trace in the spool, or counts why it is lost. Never rejects. */
  async function keep(
    trace: SealedTrace,
    lost: SinkDropReason,
    message: string,
  ): Promise<"kept" | ReturnType<typeof sinkDrop>> {
    if (!spool) {
      drop(lost);
      return sinkDrop(lost, message);
    }
    let admission: Awaited<ReturnType<TraceSpool["put"]>>;
    try {
      admission = await spool.put(trace);
    } catch (cause) {
      drop(lost);
      return sinkDrop(lost, `${message}, and the spool could not keep it`, cause);
    }
    if (admission === "kept") {
      stats.spooled++;
      spoolHolds = spool.take !== undefined;
      return "kept";
    }
    drop(admission);
    return sinkDrop(
      admission,
      admission === "too_large"
        ? `${message}, and the trace is larger than the spool takes`
        : `${message}, and the spool is full`,
    );
  }

  /** Settles a batch from the endpoint's answer, or from the reason it was not delivered. */
  async function settle(batch: readonly Entry[], outcome: Attempt): Promise<void> {
    if (outcome.kind === "answered") {
      stats.batches++;
      for (const entry of batch) {
        const r = outcome.results.get(entry.id);
        if (r?.status === "rejected") {
          stats.rejected++;
          drop("rejected");
          const why = r.reason ? ` (${r.reason})` : "";
          queue.settle(entry, sinkDrop("rejected", `The ingest endpoint rejected the trace${why}`));
          continue;
        }
        stats.sent++;
        if (r?.status === "duplicate") stats.duplicates++;
        queue.settle(entry);
      }
    } else if (outcome.kind === "refused") {
      stats.rejected += batch.length;
      drop("rejected", batch.length);
      const err = sinkDrop(
        "rejected",
        `The ingest endpoint refused the batch (status ${outcome.status})`,
      );
      for (const entry of batch) queue.settle(entry, err);
    } else {
      stats.failed += batch.length;
      const message = `Could not deliver the trace to the ingest endpoint after ${retry.retries + 1} attempts (last: ${outcome.why})`;
      const lost = outcome.timedOut ? "timeout" : "unreachable";
      const kept = await Promise.all(batch.map((entry) => keep(entry.trace, lost, message)));
      batch.forEach((entry, i) => queue.settle(entry, kept[i]));
    }
  }

  /** One batch through every attempt the retry policy allows. */
  async function deliver(batch: readonly Entry[]): Promise<Attempt> {
    const { request, reported } = prepare(batch.map((e) => e.trace));
    let outcome = await delivery.attempt(request);
    for (let attempt = 1; ; attempt++) {
      if (outcome.status !== null) stats.lastStatus = outcome.status;
      if (outcome.kind !== "retry" || attempt > retry.retries) break;
      stats.retries++;
      await sleep(retry.delay(attempt, outcome.hintMs));
      outcome = await delivery.attempt(request);
    }
    if (outcome.kind === "answered") acknowledged(reported);
    await settle(batch, outcome);
    return outcome;
  }

  /**
   * Sends batches until the queue is empty or, when it has an owner, until the owner's trace is
   * settled: on Workers, I/O belongs to the request whose `waitUntil` started it and ends with
   * it, so a pump never outlives its owner's trace; the next waiting writer takes over.
   */
  async function pump(owner: Entry | undefined): Promise<void> {
    while (queue.size) {
      if (queue.size < batchSize && flushing === 0 && lingerMs > 0) await sleep(lingerMs);
      const batch = queue.peek({ size: batchSize, maxBytes: maxBatchBytes });
      try {
        const outcome = await deliver(batch);
        // Ingest answers again: what waited in the spool goes next.
        if (outcome.kind === "answered" && spoolHolds) await drain();
      } catch (cause) {
        for (const entry of batch) {
          if (!queue.isPending(entry)) continue;
          stats.failed++;
          drop("unreachable");
          queue.settle(entry, sinkDrop("unreachable", "Could not send the trace", cause));
        }
      }
      queue.shift(batch.length);
      stats.queued = queue.size;
      if (owner && !queue.isPending(owner)) break;
    }
  }

  function start(owner?: Entry): Promise<void> {
    running ??= pump(owner).finally(() => {
      running = undefined;
    });
    return running;
  }

  /** Drives the pump from the writer's own context until its trace is settled. */
  async function settled(entry: Entry): Promise<void> {
    while (queue.isPending(entry)) {
      await Promise.race([entry.done.then(noop, noop), start(entry)]);
    }
    return entry.done;
  }

  /** One attempt at each chunk of `traces`: what became of each. */
  async function redeliver(traces: readonly SealedTrace[]): Promise<Redelivery[]> {
    const out: Redelivery[] = [];
    for (let i = 0; i < traces.length;) {
      const chunk: SealedTrace[] = [];
      let bytes = 0;
      for (; i < traces.length && chunk.length < batchSize; i++) {
        const t = traces[i]!;
        if (chunk.length > 0 && bytes + t.bytes.length > maxBatchBytes) break;
        chunk.push(t);
        bytes += t.bytes.length;
      }
      const { request, reported } = prepare(chunk);
      const outcome = await delivery.attempt(request);
      if (outcome.status !== null) stats.lastStatus = outcome.status;
      if (outcome.kind === "retry") {
        out.push(...chunk.map((): Redelivery => "failed"));
        continue;
      }
      if (outcome.kind === "refused") {
        stats.rejected += chunk.length;
        drop("rejected", chunk.length);
        out.push(...chunk.map((): Redelivery => "rejected"));
        continue;
      }
      stats.batches++;
      acknowledged(reported);
      for (const t of chunk) {
        const r = outcome.results.get(t.summary.traceId);
        if (r?.status === "rejected") {
          stats.rejected++;
          drop("rejected");
          out.push("rejected");
          continue;
        }
        stats.sent++;
        stats.drained++;
        if (r?.status === "duplicate") stats.duplicates++;
        queue.delivered(t.summary.traceId);
        out.push("delivered");
      }
    }
    return out;
  }

  /** Sends the spool's traces again, oldest first, until it is empty or ingest fails again. */
  function drain(): Promise<void> {
    const { take, remove } = spool ?? {};
    if (!spool || !take || !remove) return Promise.resolve();
    draining ??= (async () => {
      try {
        for (;;) {
          const held = await take.call(spool, batchSize);
          if (held.length === 0) {
            spoolHolds = false;
            return;
          }
          const results = await redeliver(held.map((h) => h.trace));
          const done = held.filter((_, i) => results[i] !== "failed").map((h) => h.ref);
          await remove.call(spool, done);
          if (done.length < held.length) return;
        }
      } finally {
        draining = undefined;
      }
    })();
    return draining;
  }

  return {
    name: "http",
    write(trace: SealedTrace): Promise<void> {
      const { admission, done, entry } = queue.add(trace);
      if (admission === "skipped") stats.skipped++;
      if (entry) {
        stats.queued = queue.size;
        return settled(entry);
      }
      if (done) return done;
      const message = `The ingest queue is full (${queue.capacity} traces)`;
      return keep(trace, "overflow", message).then((kept) => {
        if (kept !== "kept") throw kept;
      });
    },
    stats: () => ({ ...stats, queued: queue.unsettled, dropped: { ...stats.dropped } }),
    async flush() {
      flushing++;
      try {
        while (queue.size) await start();
        if (spoolHolds) await drain();
      } finally {
        flushing--;
      }
    },
    drain,
    redeliver,
  };
}
