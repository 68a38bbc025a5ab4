/**
 * The CBOR codec FluxRun uses everywhere: cbor-x's no-eval build, because workerd forbids code
 * generation inside a request and replay decodes inside one.
 * @module
 */
import { Decoder, Encoder } from "cbor-x/index-no-eval";

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  pack: false,
  variableMapSize: true,
});
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeCbor(value: unknown): Uint8Array {
  // cbor-x may hand back a view on its reusable buffer; copy so later encodes cannot overwrite it.
  return Uint8Array.from(encoder.encode(value));
}

export function decodeCbor(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}
