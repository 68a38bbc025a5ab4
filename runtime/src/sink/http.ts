/**
 * The HTTP ingest sink: sends sealed traces to the dashboard's `POST /v1/ingest` in batches,
 * retried with exponential backoff, with bounded memory. Works on Workers, Deno and Node.
 *
 * Ingest contract (version 1), what the dashboard implements:
 *
 * - Request: `POST <url>/v1/ingest`, headers `authorization: Bearer <ingest token of the app>`,
 *   `x-fluxrun-ingest: 1`, and `content-type: application/cbor` (default) or `application/json`.
 *   Body: an array of 1..batchSize items `{ key, bytes, summary }`:
 *   - `key`: the storage key, `traces/<app>/<YYYY-MM-DD>/<HH>/<HHMMSSmmm>-<traceId>.cbor`;
 *   - `bytes`: the sealed trace file (CBOR byte string; in JSON, standard base64 with padding);
 *   - `summary`: the unsealed TraceSummary (`summary.traceId` is the idempotency key).
 *   The summary is a convenience copy: the dashboard should index `readTrace(bytes).head.summary`
 *   and reject an item whose sent summary or key does not match it.
 * - Idempotency: the dashboard stores each `traceId` once; a repeat is answered `duplicate`, not an
 *   error. The sink re-sends a batch only when no success answer arrived, and never re-sends a
 *   trace id after a success.
 * - Response: 2xx with optional JSON `{ results: [{ traceId, status: "stored" | "duplicate" |
 *   "rejected", reason? }] }`; an item missing from `results` (or no JSON body) counts as stored.
 *   `reason` is a short code (`schema`, `too_large`, `app_mismatch`), never payload text.
 * - Errors: 401/403 (bad token), 400, 413 and other 4xx refuse the whole batch and are not
 *   retried; 408, 429 and 5xx (and network errors) are retried, `Retry-After` (seconds) honoured.
 * @module
 */
import { FluxError } from "../errors.js";
import { fetch as hostFetch, mathRandom } from "../internal/originals.js";
import { encodeCbor } from "../trace/_cbor.js";
import type { SealedTrace, TraceSink } from "./_sink.js";

export interface HttpSinkOptions {
  /** Dashboard base URL; traces go to `${url}/v1/ingest`. https, or http on loopback only. */
  url: string;
  /** The app's ingest token, sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Traces per request. Default 20. */
  batchSize?: number;
  /** Traces held (waiting or in flight) at most; more are dropped and counted. Default 100. */
  maxQueue?: number;
  /** Retries after the first attempt of a batch. Default 4. */
  retries?: number;
  /** Request body encoding. Default `"cbor"`. */
  encoding?: "cbor" | "json";
  /** Bytes of trace data per request at most (one trace always fits). Default 8 MiB. */
  maxBatchBytes?: number;
  /** First retry delay; each retry doubles it (with jitter), up to `maxBackoffMs`. Default 500. */
  backoffMs?: number;
  /** Longest delay between attempts. Default 30 000. */
  maxBackoffMs?: number;
  /** How long a partial batch waits for more traces. Default 50 ms. */
  lingerMs?: number;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Sends a request. Default: the host's own fetch, never recorded. Inject in tests. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Waits `ms`. Default: setTimeout. Inject in tests to freeze time. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). Default: the host's Math.random. */
  random?: () => number;
}

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

/** A TraceSink that also reports its counters and can be drained. */
export interface HttpSink extends TraceSink {
  stats(): HttpSinkStats;
  /** Sends everything queued now, without waiting for a batch to fill. */
  flush(): Promise<void>;
}

interface Item {
  trace: SealedTrace;
  id: string;
  done: Promise<void>;
  resolve(): void;
  reject(err: FluxError): void;
}

const REMEMBERED_IDS = 4096;
const REASON = /^[a-z][a-z0-9_]{0,39}$/;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`httpSink option \`${name}\` must be an integer of at least ${min}`);
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
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}/v1/ingest`;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

/** Reads `{ results: [{ traceId, status, reason? }] }`; anything else means "all stored". */
async function readResults(
  res: Response,
): Promise<Map<string, { status: string; reason?: string }>> {
  const out = new Map<string, { status: string; reason?: string }>();
  if (!res.headers.get("content-type")?.includes("json")) {
    await res.body?.cancel();
    return out;
  }
  try {
    const data = (await res.json()) as { results?: unknown };
    if (!Array.isArray(data.results)) return out;
    for (const r of data.results as { traceId?: unknown; status?: unknown; reason?: unknown }[]) {
      if (typeof r?.traceId !== "string" || typeof r.status !== "string") continue;
      out.set(
        r.traceId,
        typeof r.reason === "string" && REASON.test(r.reason)
          ? { status: r.status, reason: r.reason }
          : { status: r.status },
      );
    }
  } catch {
    // an unreadable success answer still means the batch was accepted
  }
  return out;
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
  const batchSize = positiveInt("batchSize", options.batchSize, 20);
  const maxQueue = positiveInt("maxQueue", options.maxQueue, 100);
  const retries = positiveInt("retries", options.retries, 4, 0);
  const maxBatchBytes = positiveInt("maxBatchBytes", options.maxBatchBytes, 8 * 1024 * 1024);
  const backoffMs = positiveInt("backoffMs", options.backoffMs, 500, 0);
  const maxBackoffMs = positiveInt("maxBackoffMs", options.maxBackoffMs, 30_000, 0);
  const lingerMs = positiveInt("lingerMs", options.lingerMs, 50, 0);
  const timeoutMs = positiveInt("timeoutMs", options.timeoutMs, 10_000);
  const encoding = options.encoding ?? "cbor";
  if (encoding !== "cbor" && encoding !== "json") {
    throw new TypeError('httpSink option `encoding` must be "cbor" or "json"');
  }
  const send = options.fetch ?? ((url: string, init: RequestInit) => hostFetch(url, init));
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? mathRandom;

  const stats: HttpSinkStats = {
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
  const queue: Item[] = [];
  const pending = new Map<string, Item>();
  const delivered = new Set<string>();
  let running: Promise<void> | undefined;
  let flushing = 0;

  function remember(id: string): void {
    delivered.add(id);
    if (delivered.size > REMEMBERED_IDS) {
      const oldest = delivered.values().next();
      if (!oldest.done) delivered.delete(oldest.value);
    }
  }

  function settle(item: Item, err?: FluxError): void {
    pending.delete(item.id);
    if (err) item.reject(err);
    else {
      remember(item.id);
      item.resolve();
    }
  }

  function encode(batch: readonly Item[]): Uint8Array | string {
    if (encoding === "cbor") {
      return encodeCbor(
        batch.map(({ trace: t }) => ({ key: t.key, bytes: t.bytes, summary: t.summary })),
      );
    }
    return JSON.stringify(
      batch.map(({ trace: t }) => ({ key: t.key, bytes: base64(t.bytes), summary: t.summary })),
    );
  }

  function delay(attempt: number, hint: number | undefined): number {
    const base = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
    const jittered = base / 2 + (base / 2) * random();
    return Math.min(maxBackoffMs, Math.max(jittered, hint ?? 0));
  }

  async function deliver(batch: readonly Item[]): Promise<void> {
    const body = encode(batch);
    const headers = {
      authorization: `Bearer ${token}`,
      "content-type": encoding === "cbor" ? "application/cbor" : "application/json",
      "x-fluxrun-ingest": "1",
    };
    let last = "no answer";
    let hint: number | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        stats.retries++;
        await sleep(delay(attempt, hint));
      }
      let res: Response;
      try {
        res = await send(endpoint, {
          method: "POST",
          headers,
          body: body as BodyInit,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        last = `a network error (${err instanceof Error ? err.name : "unknown"})`;
        hint = undefined;
        continue;
      }
      stats.lastStatus = res.status;
      if (res.ok) {
        stats.batches++;
        const results = await readResults(res);
        for (const item of batch) {
          const r = results.get(item.id);
          if (r?.status === "rejected") {
            stats.rejected++;
            const why = r.reason ? ` (${r.reason})` : "";
            settle(
              item,
              new FluxError("ERR_SINK_WRITE", `The ingest endpoint rejected the trace${why}`),
            );
            continue;
          }
          stats.sent++;
          if (r?.status === "duplicate") stats.duplicates++;
          settle(item);
        }
        return;
      }
      await res.body?.cancel();
      if (!retryable(res.status)) {
        stats.rejected += batch.length;
        for (const item of batch) {
          settle(
            item,
            new FluxError(
              "ERR_SINK_WRITE",
              `The ingest endpoint refused the batch (status ${res.status})`,
            ),
          );
        }
        return;
      }
      last = `status ${res.status}`;
      hint = retryAfterMs(res.headers.get("retry-after"));
    }
    stats.failed += batch.length;
    for (const item of batch) {
      settle(
        item,
        new FluxError(
          "ERR_SINK_WRITE",
          `Could not deliver the trace to the ingest endpoint after ${retries + 1} attempts (last: ${last})`,
        ),
      );
    }
  }

  function nextBatch(): Item[] {
    const batch: Item[] = [];
    let bytes = 0;
    for (const item of queue) {
      if (batch.length === batchSize) break;
      if (batch.length > 0 && bytes + item.trace.bytes.length > maxBatchBytes) break;
      batch.push(item);
      bytes += item.trace.bytes.length;
    }
    return batch;
  }

  async function run(): Promise<void> {
    while (queue.length) {
      if (queue.length < batchSize && flushing === 0 && lingerMs > 0) await sleep(lingerMs);
      const batch = nextBatch();
      try {
        await deliver(batch);
      } catch (cause) {
        for (const item of batch) {
          if (pending.get(item.id) === item) {
            stats.failed++;
            settle(item, new FluxError("ERR_SINK_WRITE", "Could not send the trace", { cause }));
          }
        }
      }
      queue.splice(0, batch.length);
      stats.queued = queue.length;
    }
  }

  function pump(): void {
    if (running) return;
    running = run().finally(() => {
      running = undefined;
      if (queue.length) pump();
    });
  }

  return {
    name: "http",
    write(trace: SealedTrace): Promise<void> {
      const id = trace.summary.traceId;
      const queued = pending.get(id);
      if (delivered.has(id) || queued) {
        stats.skipped++;
        return queued ? queued.done : Promise.resolve();
      }
      if (queue.length >= maxQueue) {
        stats.dropped++;
        return Promise.reject(
          new FluxError(
            "ERR_SINK_WRITE",
            `The ingest queue is full (${maxQueue} traces); the trace was dropped`,
          ),
        );
      }
      let resolve!: () => void;
      let reject!: (err: FluxError) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const item: Item = { trace, id, done, resolve, reject };
      queue.push(item);
      pending.set(id, item);
      stats.queued = queue.length;
      pump();
      return done;
    },
    stats: () => ({ ...stats }),
    async flush() {
      flushing++;
      try {
        while (running) await running;
      } finally {
        flushing--;
      }
    },
  };
}
