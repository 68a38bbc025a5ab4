/**
 * The compact CBOR profile of trace format version 3, shared by its writer (`_encode.ts`) and
 * reader (`_decode.ts`); plain CBOR otherwise, and nothing a v1 or v2 trace uses.
 *
 * - **Map keys from a fixed table.** A map key found in {@link KEY_TABLE} is written as its
 *   index, an unsigned integer (one byte for the first 24). The trace's data model has only text
 *   keys, so an integer key is never data. The table is part of the format: entries are only ever
 *   appended, by a new format version.
 * - **String references.** As in the CBOR stringref extension (tag 25, with the whole document as
 *   one namespace): each text string written literally whose UTF-8 length is at least
 *   {@link refMinLength} of the table's size at that point is numbered in order, and a later copy
 *   is written as tag 25 with its number, so repeated header names, values and URLs cost 3 to 5
 *   bytes. Byte strings (bodies) are never numbered.
 * @module
 */

/**
 * Map keys written as integers: the head's and summary's, the payloads' (HTTP exchanges, errors,
 * markers, bindings) and the names of `request.cf`. Append only.
 */
export const KEY_TABLE: readonly string[] = Object.freeze([
  // payload records
  "request",
  "result",
  "error",
  "method",
  "url",
  "headers",
  "body",
  "status",
  "statusText",
  "cf",
  "redirected",
  "type",
  "truncated",
  "unread",
  "size",
  "sha256",
  "name",
  "message",
  "stack",
  "code",
  "value",
  "key",
  "names",
  "entries",
  // 24 and on: two bytes each
  "kind",
  "className",
  "sql",
  "params",
  "arg",
  "args",
  "results",
  "meta",
  "success",
  "metadata",
  "httpMetadata",
  "customMetadata",
  "etag",
  "uploaded",
  "cursor",
  "keys",
  "objects",
  "list_complete",
  "expiration",
  "unencodable",
  // head
  "id",
  "signer",
  "version",
  "summary",
  "recipient",
  "events",
  "masks",
  "stats",
  "droppedEvents",
  "truncatedPayloads",
  "payloadBytes",
  // summary
  "traceId",
  "app",
  "route",
  "start",
  "durationMs",
  "eventCounts",
  "fetches",
  "errorClass",
  "runtime",
  "handler",
  "entry",
  "release",
  "cfRay",
  "colo",
  "topFrame",
  "outcome",
  // request.cf
  "asOrganization",
  "asn",
  "city",
  "region",
  "regionCode",
  "metroCode",
  "postalCode",
  "country",
  "continent",
  "isEUCountry",
  "timezone",
  "latitude",
  "longitude",
  "clientTcpRtt",
  "httpProtocol",
  "requestPriority",
  "tlsCipher",
  "tlsVersion",
  "tlsClientAuth",
  "tlsClientHelloLength",
  "tlsClientRandom",
  "tlsClientExtensionsSha1",
  "tlsClientExtensionsSha1Le",
  "tlsExportedAuthenticator",
  "certPresented",
  "certVerified",
  "certRevoked",
  "certIssuerDN",
  "certSubjectDN",
  "certIssuerDNRFC2253",
  "certSubjectDNRFC2253",
  "certIssuerDNLegacy",
  "certSubjectDNLegacy",
  "certSerial",
  "certIssuerSerial",
  "certSKI",
  "certIssuerSKI",
  "certFingerprintSHA1",
  "certFingerprintSHA256",
  "certNotBefore",
  "certNotAfter",
  "edgeRequestKeepAliveStatus",
  "clientTrustScore",
  "botManagement",
  "corporateProxy",
  "verifiedBot",
  "verifiedBotCategory",
  "ja3Hash",
  "ja4",
  "jsDetection",
  "staticResource",
  "detectionIds",
  "score",
  "clientAcceptEncoding",
  "hostMetadata",
]);

/** Index of each {@link KEY_TABLE} entry. */
export const KEY_INDEX: ReadonlyMap<string, number> = new Map(KEY_TABLE.map((k, i) => [k, i]));

/** The tag of a string reference. */
export const REF_TAG = 25;

/** At most this many strings are numbered; later ones are written literally. */
export const MAX_REFS = 1 << 16;

/**
 * The shortest UTF-8 length a string must have to be numbered when `count` strings already are:
 * a reference must be shorter than the string it replaces (the stringref rule).
 */
export function refMinLength(count: number): number {
  return count < 24 ? 3 : count < 256 ? 4 : 5;
}
