/**
 * The parts of the trace format a deployed worker checks itself (events of a replay envelope,
 * the HTTP payloads it revives), as {@link module:_shape} checks mirroring the zod schemas of
 * {@link module:schema} field for field, so the worker bundle carries no schema library.
 * `shapes.test.ts` holds each to its schema.
 * @module
 */
import {
  arr,
  bool,
  bytes,
  int,
  num,
  obj,
  oneOf,
  opt,
  record,
  str,
  tuple,
  union,
  unknown,
} from "./_shape.js";
import type { Shape } from "./_shape.js";
import { EVENT_KINDS } from "./_kinds.js";
import type { Body, HttpRequestData, HttpResponseData, TraceEvent } from "./schema.js";

const clearValue = union<string | number | boolean | string[]>(str(), num, bool, arr(str()));

export const TraceEventShape: Shape<TraceEvent> = obj({
  seq: int(0),
  kind: oneOf(EVENT_KINDS),
  op: str(256),
  target: str(2048),
  at: int(0),
  dur: opt(int(0)),
  end: opt(int(0)),
  status: opt(int()),
  error: opt(str(256)),
  write: opt(bool),
  parent: opt(int(0)),
  truncated: opt(bool),
  info: opt(record(clearValue)),
  site: opt(arr(tuple<[string, string, number, number]>(str(256), str(1024), int(), int()), 3)),
});

const TruncatedShape = obj({ truncated: oneOf([true] as const), size: int(0), sha256: str() });
const UnreadShape = obj({
  unread: oneOf([true] as const),
  size: opt(int(0)),
  sha256: opt(str()),
});
const BodyShape: Shape<Body> = union<Body>(
  bytes,
  oneOf([null] as const),
  TruncatedShape,
  UnreadShape,
);
const HeadersShape = arr(tuple<[string, string]>(str(), str()));

export const HttpRequestShape: Shape<HttpRequestData> = obj({
  method: str(),
  url: str(),
  headers: HeadersShape,
  body: BodyShape,
  cf: opt(record(unknown)),
});

export const HttpResponseShape: Shape<HttpResponseData> = obj({
  status: int(),
  statusText: str(),
  headers: HeadersShape,
  body: BodyShape,
  url: opt(str()),
  redirected: opt(bool),
  type: opt(str()),
});
