/**
 * The CBOR codec FluxRun uses everywhere. Encoding is cbor-x's no-eval build, because workerd
 * forbids code generation inside a request and replay encodes inside one. Decoding is FluxRun's
 * own bounded reader (`_decode.ts`): every decoded input may be hostile.
 * @module
 */
import { Encoder } from "cbor-x/index-no-eval";

export {
  decodeCbor,
  HEAD_LIMITS,
  PAYLOAD_LIMITS,
  type DecodeLimits,
  type DecodeOptions,
} from "./_decode.js";

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  pack: false,
  variableMapSize: true,
});

export function encodeCbor(value: unknown): Uint8Array {
  // cbor-x may hand back a view on its reusable buffer; copy so later encodes cannot overwrite it.
  return Uint8Array.from(encoder.encode(value));
}
