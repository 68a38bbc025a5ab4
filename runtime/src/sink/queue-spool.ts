/**
 * The Cloudflare Queue spool for `httpSink` on Workers: a trace ingest could not take is sent as
 * one message to a Queue (a producer binding), and the worker's queue handler, wrapped by
 * `withFlux`, recognises FluxRun's own messages and sends them to ingest again: delivered or
 * refused messages are acknowledged, the rest retried by the Queue (its `max_retries` and
 * dead-letter queue bound them). A Queue message is at most 128 KB: a larger trace is dropped as
 * `too_large` (use an R2 sink for large traces).
 * @module
 */
import { SpooledTrace } from "../contract/ingest.js";
import type { SpoolAdmission, TraceSpool } from "./_spool.js";
import type { SealedTrace } from "./_sink.js";

/** A Queue message's body is at most 128 KB; room is left for the structured-clone framing. */
export const QUEUE_SPOOL_MAX_BYTES = 120 * 1024;

/** The producer side of a Queue binding (what this spool uses of it). */
export interface QueueProducer {
  send(
    body: unknown,
    options?: { contentType?: "v8" | "json" | "text" | "bytes" },
  ): Promise<unknown>;
}

/**
 * A Queue for {@link httpSink}'s `spool` option on Workers. Add the same queue as a consumer of
 * the worker (`[[queues.consumers]]`): `withFlux` drains FluxRun's messages through the sink.
 *
 * @example
 * ```ts
 * import { env } from "cloudflare:workers";
 * const sink = httpSink({ url, token: env.FLUX_INGEST_TOKEN, spool: queueSpool(env.FLUX_SPOOL) });
 * export default withFlux(app, { sink });
 * ```
 */
export function queueSpool(queue: QueueProducer): TraceSpool {
  if (typeof queue !== "object" || queue === null) {
    throw new TypeError("queueSpool needs a Queue producer binding (env.FLUX_SPOOL)");
  }
  return {
    name: "queue",
    async put(trace: SealedTrace): Promise<SpoolAdmission> {
      if (trace.bytes.length > QUEUE_SPOOL_MAX_BYTES) return "too_large";
      const body: SpooledTrace = {
        fluxrun: "spool/1",
        key: trace.key,
        bytes: trace.bytes,
        summary: trace.summary,
      };
      await queue.send(body, { contentType: "v8" });
      return "kept";
    },
  };
}

/** A queue message as the handler sees it (what draining uses of it). */
export interface SpoolMessage {
  readonly body: unknown;
  ack(): void;
  retry(): void;
}

/**
 * The spooled trace a queue message holds, or undefined when the message is not FluxRun's.
 *
 * @example
 * ```ts
 * if (batch.messages.every((m) => spooledTrace(m.body))) await drainQueueBatch(batch, sink);
 * ```
 */
export function spooledTrace(body: unknown): SealedTrace | undefined {
  const parsed = SpooledTrace.safeParse(body);
  if (!parsed.success) return undefined;
  const { key, bytes, summary } = parsed.data;
  return { key, bytes, summary };
}

/** The part of an HTTP sink a queue handler drains through. */
interface Redeliverer {
  redeliver(traces: readonly SealedTrace[]): Promise<readonly string[]>;
}

function canRedeliver(sink: unknown): sink is Redeliverer {
  return (
    typeof sink === "object" &&
    sink !== null &&
    typeof (sink as { redeliver?: unknown }).redeliver === "function"
  );
}

/**
 * Sends a queue batch of FluxRun's spooled traces to ingest again through `sink` (an
 * `httpSink`): delivered and refused messages are acknowledged (a refusal is counted as dropped
 * `rejected` by the sink), the rest retried by the Queue. Returns false, touching nothing, when
 * the batch is not FluxRun's alone (the app's queue handler runs instead). `withFlux` calls this
 * for every queue batch; a separate consumer worker can call it itself.
 *
 * @example
 * ```ts
 * export default { async queue(batch, env) { await drainQueueBatch(batch, sink) } };
 * ```
 */
export async function drainQueueBatch(
  batch: { readonly messages: readonly SpoolMessage[] },
  sink: unknown,
): Promise<boolean> {
  const traces: SealedTrace[] = [];
  for (const message of batch.messages) {
    const trace = spooledTrace(message.body);
    if (!trace) return false;
    traces.push(trace);
  }
  if (traces.length === 0) return false;
  if (!canRedeliver(sink)) {
    // Kept in the Queue until a worker with an httpSink drains it.
    for (const message of batch.messages) message.retry();
    return true;
  }
  const results = await sink.redeliver(traces);
  batch.messages.forEach((message, i) => {
    if (results[i] === "failed") message.retry();
    else message.ack();
  });
  return true;
}
