/**
 * The CBOR codec FluxRun uses everywhere: its own writer (`_encode.ts`, the trace's data model
 * into one growing buffer) and its own bounded reader (`_decode.ts`: every decoded input may be
 * hostile). No code generation, so both run inside a workerd request.
 * @module
 */
import { encode } from "./_encode.js";

export {
  decodeCbor,
  HEAD_LIMITS,
  PAYLOAD_LIMITS,
  type DecodeLimits,
  type DecodeOptions,
} from "./_decode.js";

/** One value of the trace's data model as CBOR. */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}
