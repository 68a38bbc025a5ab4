/**
 * `fluxrun/node`: `withFlux` for Node 20+ servers. The handler is a web-standard fetch function
 * (Node has global Request/Response/fetch); `toNodeListener` plugs it into `node:http`. Same
 * recorder, trace format, sealing and replay as on Workers; traces go to a sink after the response,
 * and `fluxENV` falls back to `process.env`.
 * @module
 */
import { setEnvFallback } from "../boundaries/env.js";
import { consoleMethods } from "../originals.js";
import {
  flush,
  replayTrace,
  wrapFetchHandler,
  type FetchFunction,
  type FetchHandlerLike,
  type FluxFetchFunction,
  type FluxFetchOptions,
  type HostRuntime,
} from "./_handler.js";

export { flush, replayTrace };
export type {
  FetchFunction,
  FetchHandlerLike,
  FluxFetchFunction,
  FluxFetchOptions,
} from "./_handler.js";
export { fsSink, type FsSinkOptions } from "../sink/fs.js";
export { httpSink, type HttpSink, type HttpSinkOptions, type HttpSinkStats } from "../sink/http.js";
export { fsSpool, type FsSpoolOptions } from "../sink/fs-spool.js";
export type { TraceSpool, SpoolAdmission } from "../sink/_spool.js";
export { fluxHost } from "../boundaries/host.js";
export { fluxENV } from "../boundaries/env.js";
export { fluxStats } from "../internal/recorder.js";

function processEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env?.[name];
}

const host: HostRuntime = { name: "node", env: processEnv };
setEnvFallback(processEnv);

/**
 * Wraps a fetch-function handler so every execution is recorded into a sealed trace.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { withFlux, toNodeListener, fsSink } from "fluxrun/node";
 * const handler = withFlux(app.fetch, { app: "shop-api", sink: fsSink("./traces") });
 * createServer(toNodeListener(handler)).listen(8080, "127.0.0.1");
 * ```
 */
export function withFlux<I = unknown>(
  handler: FetchHandlerLike<I>,
  options: FluxFetchOptions,
): FluxFetchFunction<I> {
  return wrapFetchHandler(handler, options, host);
}

/** The parts of `http.IncomingMessage` the listener reads (the core has no Node types). */
export interface NodeRequestLike extends AsyncIterable<Uint8Array> {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  /** A TLS socket has `encrypted: true`. */
  socket: object;
}

/** The parts of `http.ServerResponse` the listener writes. */
export interface NodeResponseLike {
  statusCode: number;
  statusMessage: string;
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  setHeader(name: string, value: string | string[]): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  once(event: "drain" | "close", listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

export interface NodeListenerOptions {
  /** Answer for a handler that threw. Default: log the error, answer 500. */
  onError?: (error: unknown) => Response | Promise<Response>;
}

/**
 * Adapts a fetch function to a `node:http` request listener: builds a Request (body streamed,
 * aborted when the client goes away), writes the Response back with backpressure.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(withFlux(handler, { sink }))).listen(8080, "127.0.0.1");
 * ```
 */
export function toNodeListener(
  fetchFn: FetchFunction,
  options: NodeListenerOptions = {},
): (req: NodeRequestLike, res: NodeResponseLike) => void {
  if (typeof fetchFn !== "function") {
    throw new TypeError("toNodeListener needs a fetch function (request) => Response");
  }
  const onError =
    options.onError ??
    ((err: unknown) => {
      consoleMethods.error("[fluxrun] the handler threw:", err);
      return new Response("Internal Server Error", { status: 500 });
    });
  return (req, res) => {
    void serveOne(fetchFn, onError, req, res);
  };
}

async function serveOne(
  fetchFn: FetchFunction,
  onError: (error: unknown) => Response | Promise<Response>,
  req: NodeRequestLike,
  res: NodeResponseLike,
): Promise<void> {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  let request: Request;
  try {
    request = toRequest(req, abort.signal);
  } catch {
    await writeResponse(res, new Response("Bad Request", { status: 400 }));
    return;
  }
  let response: Response;
  try {
    response = await fetchFn(request);
  } catch (err) {
    try {
      response = await onError(err);
    } catch {
      response = new Response("Internal Server Error", { status: 500 });
    }
  }
  await writeResponse(res, response, request.method === "HEAD");
}

function toRequest(req: NodeRequestLike, signal: AbortSignal): Request {
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  const hostHeader = req.headers.host;
  const authority = typeof hostHeader === "string" && hostHeader ? hostHeader : "localhost";
  const url = new URL(req.url ?? "/", `${proto}://${authority}`);
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (!name.startsWith(":")) headers.append(name, req.rawHeaders[i + 1] as string);
  }
  const method = (req.method ?? "GET").toUpperCase();
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (method !== "GET" && method !== "HEAD") {
    init.body = bodyStream(req);
    init.duplex = "half";
  }
  return new Request(url, init);
}

function bodyStream(req: NodeRequestLike): ReadableStream<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return?.();
    },
  });
}

async function writeResponse(
  res: NodeResponseLike,
  response: Response,
  headOnly = false,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  const cookies =
    (response.headers as Headers & { getSetCookie?(): string[] }).getSetCookie?.() ?? [];
  if (cookies.length) res.setHeader("set-cookie", cookies);
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
  if (!response.body || headOnly) {
    await response.body?.cancel();
    res.end();
    return;
  }
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  const reader = response.body.getReader();
  try {
    while (!closed) {
      const { done, value } = await reader.read();
      if (done) {
        res.end();
        return;
      }
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    }
    await reader.cancel();
  } catch (err) {
    res.destroy(err instanceof Error ? err : undefined);
  } finally {
    reader.releaseLock();
  }
}
