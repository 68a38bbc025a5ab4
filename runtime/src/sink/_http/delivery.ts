/**
 * One attempt at handing a batch to the ingest endpoint, and what came of it: answered (with a
 * result per trace), refused (not worth retrying), or worth retrying. The body is encoded once
 * per batch, so every attempt sends the same bytes.
 * @module
 */
import {
  encodeIngestBatch,
  INGEST_VERSION,
  INGEST_VERSION_HEADER,
  IngestResult,
  retryableStatus,
  type IngestEncoding,
  type SinkDrops,
} from "../../contract/ingest.js";
import type { SealedTrace } from "../_sink.js";
import { retryAfterMs } from "./retry.js";

/** Sends a request; the host's own fetch unless injected. */
export type SendFn = (url: string, init: RequestInit) => Promise<Response>;

/** A batch ready to send. */
export interface PreparedBatch {
  body: Uint8Array | string;
  headers: Record<string, string>;
}

export type Attempt =
  | { kind: "answered"; status: number; results: Map<string, IngestResult> }
  | { kind: "refused"; status: number }
  | {
      kind: "retry";
      why: string;
      status: number | null;
      hintMs: number | undefined;
      /** The endpoint did not answer within the request timeout. */
      timedOut: boolean;
    };

export class Delivery {
  readonly #endpoint: string;
  readonly #token: string;
  readonly #encoding: IngestEncoding;
  readonly #timeoutMs: number;
  readonly #send: SendFn;

  constructor(options: {
    endpoint: string;
    token: string;
    encoding: IngestEncoding;
    timeoutMs: number;
    send: SendFn;
  }) {
    this.#endpoint = options.endpoint;
    this.#token = options.token;
    this.#encoding = options.encoding;
    this.#timeoutMs = options.timeoutMs;
    this.#send = options.send;
  }

  /** The request for a batch (the ingest contract's body and headers), with the drops to report. */
  prepare(traces: readonly SealedTrace[], dropped: SinkDrops = {}): PreparedBatch {
    const { body, contentType } = encodeIngestBatch(traces, this.#encoding, { dropped });
    return {
      body,
      headers: {
        authorization: `Bearer ${this.#token}`,
        "content-type": contentType,
        [INGEST_VERSION_HEADER]: INGEST_VERSION,
      },
    };
  }

  /** Sends the request once. Never throws: a network error is an attempt worth retrying. */
  async attempt(request: PreparedBatch): Promise<Attempt> {
    let res: Response;
    try {
      res = await this.#send(this.#endpoint, {
        method: "POST",
        headers: request.headers,
        body: request.body as BodyInit,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const name = err instanceof Error ? err.name : "unknown";
      const timedOut = name === "TimeoutError" || name === "AbortError";
      return {
        kind: "retry",
        why: timedOut ? "no answer in time" : `a network error (${name})`,
        status: null,
        hintMs: undefined,
        timedOut,
      };
    }
    if (res.ok) return { kind: "answered", status: res.status, results: await readResults(res) };
    await res.body?.cancel();
    if (!retryableStatus(res.status)) return { kind: "refused", status: res.status };
    return {
      kind: "retry",
      why: `status ${res.status}`,
      status: res.status,
      hintMs: retryAfterMs(res.headers.get("retry-after")),
      timedOut: false,
    };
  }
}

/**
 * The results of a 2xx answer by trace id. A result that does not match the contract is left
 * out (its trace counts as stored), except that a `rejected` one stays rejected without a reason.
 */
async function readResults(res: Response): Promise<Map<string, IngestResult>> {
  const out = new Map<string, IngestResult>();
  if (!res.headers.get("content-type")?.includes("json")) {
    await res.body?.cancel();
    return out;
  }
  let data: unknown;
  try {
    data = await res.json();
  } catch {
    return out; // an unreadable success answer still means the batch was accepted
  }
  const results = (data as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return out;
  for (const raw of results) {
    const parsed =
      IngestResult.safeParse(raw).data ??
      IngestResult.safeParse({ ...(raw as object), reason: undefined }).data;
    if (parsed) out.set(parsed.traceId, parsed);
  }
  return out;
}
