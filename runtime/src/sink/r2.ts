/**
 * The R2 sink: one object per trace, the summary as custom metadata.
 * @module
 */
import { summaryMetadata, TRACE_CONTENT_TYPE } from "../contract/storage.js";
import type { SealedTrace, TraceSink } from "./_sink.js";

/**
 * Stores traces in an R2 bucket.
 *
 * @example
 * ```ts
 * withFlux(app, { sink: r2Sink(env.FLUX_TRACES) });
 * ```
 */
export function r2Sink(bucket: R2Bucket): TraceSink {
  return {
    name: "r2",
    async write(trace: SealedTrace) {
      await bucket.put(trace.key, trace.bytes, {
        httpMetadata: { contentType: TRACE_CONTENT_TYPE },
        customMetadata: summaryMetadata(trace.summary),
      });
    },
  };
}
