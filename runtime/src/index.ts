/**
 * FluxRun: record production executions of edge handlers into sealed traces, replay them with
 * recorded IO.
 *
 * @example
 * ```ts
 * import { withFlux, fluxHost, fluxENV } from "fluxrun";
 * export default withFlux(app, { app: "shop-api" });
 * ```
 * @module
 */
export { withFlux, type FetchHandler } from "./adapter/workers.js";
export { fluxHost } from "./boundaries/host.js";
export { fluxENV } from "./boundaries/env.js";
export { fluxStats, type FluxStats } from "./internal/recorder.js";
export { DEFAULT_MASK_HEADERS, type FluxOptions } from "./options.js";
export { FluxError, isFluxError, FLUX_ERROR_CODES, type FluxErrorCode } from "./errors.js";
export { r2Sink, type R2Sink, type R2SinkOptions, type R2SinkStats } from "./sink/r2.js";
export {
  httpSink,
  type HttpSink,
  type HttpSinkOptions,
  type HttpSinkStats,
  type Redelivery,
} from "./sink/http.js";
export {
  drainQueueBatch,
  queueSpool,
  type QueueProducer,
  type SpoolMessage,
} from "./sink/queue-spool.js";
export type { TraceSpool, SpoolAdmission } from "./sink/_spool.js";
export type { TraceSink, SealedTrace, SinkDropError } from "./sink/_sink.js";
export type { SessionLimits } from "./options.js";
