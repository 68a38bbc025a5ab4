/**
 * The fetch-function adapter shared by Deno and Node: wraps a `(request, info?) => Response`
 * handler (or an object with such a `fetch`, like a Hono app) so each execution is recorded by the
 * runtime-agnostic recorder. Trace writes run after the response, never awaited on its path, and
 * are tracked so {@link flush} can wait for them. Replays run the same handler in process with
 * `executeReplay`, so the fail-closed rules are the ones the Workers adapter applies.
 * @module
 */
import { installBoundaries } from "../boundaries/index.js";
import { fetchIncoming } from "../boundaries/incoming/fetch.js";
import { recordExecution, type ExecutionSettings } from "../internal/recorder.js";
import { resolveOptions, type FluxOptions } from "../options.js";
import { executeReplay } from "../replay/execute.js";
import { envelopeOf } from "../replay/client.js";
import type { ReplayPolicy } from "../replay/policy.js";
import { buildReport, type ReplayReport } from "../replay/report.js";
import type { TraceSink } from "../sink/_sink.js";
import type { PlainTrace } from "../trace/seal.js";

/** A web-standard fetch function: what `Deno.serve` takes. */
export type FetchFunction<I = unknown> = (
  request: Request,
  info?: I,
) => Response | Promise<Response>;

/** A fetch function, or an object with one (a Hono app, a `{ fetch }` module). */
export type FetchHandlerLike<I = unknown> = FetchFunction<I> | { fetch: FetchFunction<I> };

/** The wrapped handler: records every execution it serves. */
export type FluxFetchFunction<I = unknown> = (request: Request, info?: I) => Promise<Response>;

/** Options of the fetch-function `withFlux`: the Workers options, with `sink` required. */
export interface FluxFetchOptions extends FluxOptions {
  /** Where traces go: `fsSink(dir)`, `httpSink({ url, token })`, or any TraceSink. */
  sink: TraceSink;
}

/** What differs between fetch-function runtimes: a name for summaries and an env reader. */
export interface HostRuntime {
  readonly name: string;
  /** A variable of the host's environment; undefined when unset or not permitted. */
  env(name: string): string | undefined;
}

/** What a wrapped function carries so a replay can run its inner handler. */
interface Replayable {
  invoke: FetchFunction;
  maskHeaders: ReadonlySet<string>;
}

const REPLAYABLE = Symbol.for("fluxrun.replayable");
const inFlight = new Set<Promise<void>>();
const sinks = new Set<TraceSink>();

function toFetchFunction<I>(handler: FetchHandlerLike<I>, what: string): FetchFunction<I> {
  if (typeof handler === "function") return handler;
  if (typeof (handler as { fetch?: unknown } | null)?.fetch === "function") {
    return (request, info) => handler.fetch(request, info);
  }
  throw new TypeError(`${what} needs a fetch function (request, info) => Response, or { fetch }`);
}

/**
 * Wraps a fetch function for a host runtime. The Deno and Node entries call this with their host.
 *
 * @example
 * ```ts
 * const fetchFn = wrapFetchHandler(handler, { sink }, { name: "deno", env: denoEnv });
 * ```
 */
export function wrapFetchHandler<I>(
  handler: FetchHandlerLike<I>,
  options: FluxFetchOptions,
  host: HostRuntime,
): FluxFetchFunction<I> {
  const invoke = toFetchFunction(handler, "withFlux");
  const sink = options?.sink;
  if (typeof sink?.write !== "function") {
    throw new TypeError(
      `withFlux on ${host.name} needs a \`sink\` option: fsSink(dir), httpSink({ url, token }) or a TraceSink`,
    );
  }
  const resolved = resolveOptions(options);
  installBoundaries();
  sinks.add(sink);
  const target = {
    app: options.app ?? host.env("FLUX_APP") ?? "app",
    runtime: host.name,
    sink,
    publicKey: options.publicKey ?? host.env("FLUX_PUBLIC_KEY"),
    signingKey: options.signingKey ?? host.env("FLUX_SIGNING_KEY"),
    release: options.release ?? host.env("FLUX_RELEASE"),
  };

  const settings: ExecutionSettings = {
    resolved,
    env: {},
    store: () => target,
    // Never awaited here: the trace closes after the response body is read, in the background.
    defer: track,
  };
  const wrapped = (request: Request, info?: I): Promise<Response> => {
    const { trigger } = fetchIncoming.record([request], { route: resolved.route });
    return recordExecution(trigger, settings, () => invoke(request, info)) as Promise<Response>;
  };
  const replayable: Replayable = {
    invoke: invoke as FetchFunction,
    maskHeaders: resolved.maskHeaders,
  };
  Object.defineProperty(wrapped, REPLAYABLE, { value: replayable });
  return wrapped;
}

function track(p: Promise<void>): void {
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
}

/**
 * Waits until every trace recorded so far is closed, sealed and handed to its sink, and every
 * sink that buffers (httpSink) has delivered or given up. Call it before shutdown and in tests.
 *
 * @example
 * ```ts
 * await fetch(`${base}/orders`);
 * await flush();
 * ```
 */
export async function flush(): Promise<void> {
  while (inFlight.size) await Promise.all(inFlight);
  for (const sink of sinks) {
    const f = (sink as { flush?: () => Promise<void> }).flush;
    if (typeof f === "function") await f.call(sink);
  }
  if (inFlight.size) await flush();
}

/**
 * Replays an opened trace through a handler in this process: every boundary is served from the
 * trace and anything it lacks fails closed, as on Workers. `handler` is what `withFlux` returned,
 * or the unwrapped handler. Returns the same report as `fluxrun replay --json`.
 *
 * @example
 * ```ts
 * const report = await replayTrace(handler, await openTrace(bytes, privateJwk));
 * if (report.verdict !== "match") console.log(formatReport(report));
 * ```
 */
export async function replayTrace(
  handler: FetchHandlerLike | FluxFetchFunction,
  trace: PlainTrace,
  options: { policy?: ReplayPolicy; liveNetworkAttempts?: () => number } = {},
): Promise<ReplayReport> {
  const inner = (handler as { [REPLAYABLE]?: Replayable } | null)?.[REPLAYABLE];
  const invoke = inner?.invoke ?? toFetchFunction(handler, "replayTrace");
  installBoundaries();
  const envelope = envelopeOf(trace, options.policy);
  const before = options.liveNetworkAttempts?.() ?? 0;
  const result = await executeReplay(
    envelope,
    async (invocation) => invoke(invocation.args[0] as Request),
    { env: {}, maskHeaders: inner?.maskHeaders ?? new Set(trace.head.masks.headers) },
  );
  const live = (options.liveNetworkAttempts?.() ?? 0) - before;
  return buildReport(trace, result, {
    liveNetworkAttempts: live,
    values: true,
    ...(options.policy ? { policy: options.policy } : {}),
  });
}
