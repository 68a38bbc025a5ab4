/**
 * HTTP exchanges, shared by global fetch and service bindings: capture a Request and a Response
 * into sealed data, and build real Request/Response objects back from it.
 * @module
 */
import { FluxError } from "../errors.js";
import { Deferred, type CallSpec, type Session, type UnreadBodies } from "../internal/session.js";
import { failedStatus, type Trigger } from "../internal/recorder.js";
import type { RawSite } from "../internal/site.js";
import type { EventKind, HttpRequestData, HttpResponseData, Unread } from "../trace/schema.js";
import { HttpResponseShape } from "../trace/_shapes.js";
import {
  headerPairs,
  isTruncated,
  isUnread,
  readBody,
  recordable,
  sha256Hex,
} from "../internal/values.js";
import { compareHttpRequest } from "../internal/compare-http.js";

const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
const NULL_BODY_STATUS: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** True for methods that change nothing on the server (GET, HEAD, OPTIONS). */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** `host/path` of a URL: the clear target of an HTTP event. */
export function httpTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

export async function captureRequest(request: Request, limit: number): Promise<HttpRequestData> {
  const body = request.body ? await readBody(request.clone(), limit) : null;
  const data: HttpRequestData = {
    method: request.method,
    url: request.url,
    headers: headerPairs(request.headers),
    body,
  };
  const cf = (request as { cf?: unknown }).cf;
  if (cf && typeof cf === "object") data.cf = recordable(cf) as Record<string, unknown>;
  return data;
}

export function buildRequest(data: HttpRequestData): Request {
  const init: RequestInit & { cf?: unknown } = {
    method: data.method,
    headers: toHeaders(data.headers),
  };
  if (data.body instanceof Uint8Array && data.method !== "GET" && data.method !== "HEAD") {
    init.body = data.body as BodyInit;
  }
  if (data.cf) init.cf = data.cf;
  return new Request(data.url, init as RequestInit);
}

function toHeaders(pairs: readonly (readonly [string, string])[]): Headers {
  const h = new Headers();
  for (const [name, value] of pairs) h.append(name, value);
  return h;
}

/**
 * A real Response from recorded data. What a constructed Response cannot be given (the URL after
 * redirects, `redirected`, `type`) is set on the instance, so it reads as the recorded one did.
 * A body the recording never read is a stream that fails when read (and calls `unread`).
 */
export function buildResponse(data: HttpResponseData, unread?: () => void): Response {
  const body = NULL_BODY_STATUS.has(data.status)
    ? null
    : data.body instanceof Uint8Array
      ? data.body.slice()
      : isUnread(data.body)
        ? unreadStream(unread)
        : null;
  const response = new Response(body as BodyInit | null, {
    status: data.status,
    statusText: data.statusText,
    headers: toHeaders(data.headers),
  });
  return Object.defineProperties(response, responseFacts(data, response.type));
}

/**
 * A body stream whose first read fails with ERR_REPLAY_UNREAD. No high-water mark, so nothing
 * pulls it before the app reads.
 */
function unreadStream(unread?: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        unread?.();
        controller.error(
          new FluxError(
            "ERR_REPLAY_UNREAD",
            "The recorded execution never read this response body, so the trace does not hold it (unreadBodies option)",
          ),
        );
      },
    },
    { highWaterMark: 0 },
  );
}

/** What a constructed Response cannot be given, as properties: URL, `redirected`, `type`. */
function responseFacts(data: HttpResponseData, constructedType: string): PropertyDescriptorMap {
  const facts: PropertyDescriptorMap = {};
  if (data.url) facts.url = { value: data.url, enumerable: false };
  if (data.redirected) facts.redirected = { value: true, enumerable: false };
  if (data.type && data.type !== constructedType)
    facts.type = { value: data.type, enumerable: false };
  return facts;
}

/** Reads a response copy into sealed data without touching the one handed back. */
export function captureResponse(response: Response, limit: number): Promise<HttpResponseData> {
  return responseData(response, response.body ? response.clone() : null, limit);
}

/**
 * A response with no body or a declared length within the limit: a copy of it can wait unread
 * until the execution ends (the copy buffers at most that much). A stream of unknown length is
 * read as it comes instead, so an unread copy never holds a whole download.
 */
function boundedBody(response: Response, limit: number): boolean {
  if ((response as { webSocket?: unknown }).webSocket) return false;
  if (!response.body) return true;
  const declared = Number(response.headers.get("content-length") ?? NaN);
  return declared >= 0 && declared <= limit;
}

/**
 * A response whose body is decided once the execution has ended ({@link Deferred}), from a copy:
 * a copy of a bounded body waits unread (cancelled if the trace is not kept), one of unknown
 * length is read as it comes, so it never holds a whole download. With `unreadBodies` "keep", the
 * body is read from the copy; with "digest" or "skip", only if the app read (or began to read)
 * the original, else it is kept as an {@link Unread} marker with its size and digest ("digest",
 * which reads the copy) or its declared length ("skip", which cancels it).
 */
export function heldResponse(
  response: Response,
  limit: number,
  mode: UnreadBodies,
  describe: (data: HttpResponseData) => HttpResponseData,
): Deferred {
  const copy = response.body ? response.clone() : null;
  const early = copy && !boundedBody(response, limit) ? readBody(copy, limit) : null;
  const read = () => (copy ? (early ?? readBody(copy, limit)) : Promise.resolve(null));
  return new Deferred(
    async () => {
      if (!copy || mode === "keep" || bodyTouched(response)) {
        return describe(recordedResponse(response, await read()));
      }
      let marker: Unread = { unread: true };
      if (mode === "digest") {
        const body = await read();
        if (body instanceof Uint8Array) {
          marker = { unread: true, size: body.length, sha256: await sha256Hex(body) };
        }
      } else {
        if (!early) void copy.body?.cancel().catch(() => {});
        const declared = Number(response.headers.get("content-length") ?? NaN);
        if (declared >= 0) marker = { unread: true, size: declared };
      }
      return describe(recordedResponse(response, marker));
    },
    () => void (early ? early.catch(() => {}) : copy?.body?.cancel().catch(() => {})),
  );
}

/** Responses a fetch handler returned: their body goes to the client even if the app never read it. */
const handedOn = new WeakSet<Response>();

/**
 * True when the app read the body, began to, or passed it on: read (`bodyUsed`), locked (piped,
 * or given to a new Response), or the response itself returned by the handler.
 */
function bodyTouched(response: Response): boolean {
  return response.bodyUsed || response.body?.locked === true || handedOn.has(response);
}

function responseData(
  response: Response,
  copy: Response | null,
  limit: number,
): Promise<HttpResponseData> {
  return (copy ? readBody(copy, limit) : Promise.resolve(null)).then((body) =>
    recordedResponse(response, body),
  );
}

/** A response as the trace keeps it, with the body read from it (or its copy). */
function recordedResponse(response: Response, body: HttpResponseData["body"]): HttpResponseData {
  const data: HttpResponseData = {
    status: response.status,
    statusText: response.statusText,
    headers: headerPairs(response.headers),
    body,
  };
  if (response.url) data.url = response.url;
  if (response.redirected) data.redirected = true;
  if (response.type && response.type !== "default") data.type = response.type;
  return data;
}

/** Masked header names present in a set of pairs. */
export function maskedNames(
  session: Session,
  ...lists: (readonly (readonly [string, string])[])[]
): string[] {
  const out = new Set<string>();
  for (const list of lists)
    for (const [n] of list) if (session.maskHeaders.has(n.toLowerCase())) out.add(n.toLowerCase());
  return [...out];
}

/** Responses read whole when recording, and their recorded data. */
const readWhole = new WeakMap<Response, HttpResponseData>();

/**
 * A response whose declared length is within the limit is read once, whole: the trace keeps its
 * bytes and the app gets a Response rebuilt on them (same status, headers, URL and redirect
 * facts), so its body is read once instead of teed. Anything else (no declared length, over the
 * limit, no body, a WebSocket) is handed back as it is and copied through a tee.
 */
async function readOnce(response: Response, limit: number): Promise<Response> {
  if (!response.body || NULL_BODY_STATUS.has(response.status) || !boundedBody(response, limit)) {
    return response;
  }
  const data = recordedResponse(response, new Uint8Array(await response.arrayBuffer()));
  // Rebuilt on the live Headers (a native copy) rather than on the recorded pairs. A Response
  // copies the bytes it is built on (Fetch: "extract a body"), so the trace's stay unshared.
  const rebuilt = Object.defineProperties(
    new Response(data.body as BodyInit, {
      status: data.status,
      statusText: data.statusText,
      headers: response.headers,
    }),
    responseFacts(data, "default"),
  );
  readWhole.set(rebuilt, data);
  return rebuilt;
}

/**
 * Records or replays one HTTP exchange. The Request's body is read from a clone first; the
 * response handed back in record mode is the live one, its copy is read in the background.
 */
export async function httpExchange(
  session: Session,
  options: {
    kind: EventKind;
    target: string;
    request: Request;
    live: (r: Request) => Promise<Response>;
    site?: RawSite | undefined;
  },
): Promise<Response> {
  const { request } = options;
  const limit = session.limits.maxBodyBytes;
  const data = await captureRequest(request, limit);
  const masked = maskedNames(session, data.headers);
  const spec: CallSpec<Response> = {
    kind: options.kind,
    op: request.method,
    target: options.target,
    write: !isSafeMethod(request.method),
    request: data,
    // Read whole at once only when the trace is likely kept and the body is kept whether the app
    // reads it or not; otherwise the app gets the live one.
    live: async () => {
      const response = await options.live(request);
      return session.sampled && session.unreadBodies === "keep"
        ? readOnce(response, limit)
        : response;
    },
    capture(response, addInfo) {
      const described = (res: HttpResponseData) => {
        const resMasked = maskedNames(session, res.headers);
        const info: Record<string, number | string[]> = {
          reqBytes: data.body instanceof Uint8Array ? data.body.length : 0,
          resBytes:
            res.body instanceof Uint8Array
              ? res.body.length
              : isTruncated(res.body) || isUnread(res.body)
                ? (res.body.size ?? 0)
                : 0,
        };
        if (isUnread(res.body)) info.unread = 1;
        const allMasked = [...new Set([...masked, ...resMasked])];
        if (allMasked.length) info.masked = allMasked;
        addInfo(info);
        return res;
      };
      const whole = readWhole.get(response);
      // Read once already, or else held until the outcome (left out by the sample) or until the
      // app's use of the body is known (`unreadBodies`); otherwise read from a copy now.
      const held = !session.sampled || session.unreadBodies !== "keep";
      return {
        value: response,
        data: whole
          ? described(whole)
          : held
            ? heldResponse(response, limit, session.unreadBodies, described)
            : captureResponse(response, limit).then(described),
        status: response.status,
      };
    },
    revive: (d, unread) => buildResponse(HttpResponseShape(d, ""), unread),
    compare: (recorded, actual) => compareHttpRequest(recorded, actual, session.rules),
    site: options.site,
  };
  return session.call(spec);
}

/** The fetch trigger: the request (with `request.cf`) in, the response out. */
export function fetchTrigger(request: Request, route: string): Trigger<Response> {
  const cfRay = request.headers.get("cf-ray");
  const colo = (request as { cf?: { colo?: unknown } }).cf?.colo;
  return {
    handler: "fetch",
    ...(cfRay ? { cfRay } : {}),
    ...(typeof colo === "string" && colo ? { colo } : {}),
    method: request.method,
    route,
    op: request.method,
    target: route,
    // Left out by the sample, a request without a body is read (headers, `request.cf`) only if
    // the execution fails: both stay on the Request. A body is copied now, before the app reads it.
    capture: (limit, sampled) =>
      sampled || request.body
        ? captureRequest(request, limit)
        : new Deferred(
            () => captureRequest(request, limit),
            () => {},
          ),
    result: (response, limit, sampled) => {
      handedOn.add(response);
      // Left out by the sample, a response below 500 ends an execution that is not kept: no copy.
      const kept = sampled || failedStatus(response.status);
      return {
        op: String(response.status),
        status: response.status,
        payload: kept ? captureResponse(response, limit) : null,
      };
    },
  };
}
