/**
 * `withFlux` for Cloudflare Workers: wraps a module worker's fetch handler (or a Hono app).
 * Records each execution into a sealed trace written to R2 through `ctx.waitUntil`, and serves
 * replays started by a harness that holds the per-run replay secret.
 * @module
 */
import { installBoundaries, wrapEnv } from "../boundaries/index.js";
import {
  beginRecording,
  finishRecording,
  recordException,
  recordResponse,
} from "../internal/recorder.js";
import { runInSession } from "../internal/session.js";
import { resolveOptions, type FluxOptions } from "../options.js";
import { REPLAY_HEADER, REPLAY_SECRET_VAR } from "../replay/envelope.js";
import { decodeEnvelope, encodeResult, executeReplay } from "../replay/execute.js";
import { r2Sink } from "../sink/r2.js";
import { isFluxError } from "../errors.js";

/** Anything with a Workers-style fetch: a module worker object or a Hono app. */
export interface FetchHandler<E> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function isReplay(request: Request, env: Record<string, unknown>): boolean {
  const secret = env[REPLAY_SECRET_VAR];
  const header = request.headers.get(REPLAY_HEADER);
  return (
    typeof secret === "string" &&
    secret.length >= 32 &&
    header !== null &&
    timingSafeEqual(header, secret)
  );
}

/**
 * Wraps a Workers fetch handler so every execution is recorded.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { withFlux } from "fluxrun";
 * const app = new Hono();
 * app.get("/", (c) => c.text("hi"));
 * export default withFlux(app, { app: "shop-api" });
 * ```
 */
export function withFlux<E extends object>(
  handler: FetchHandler<E>,
  options: FluxOptions = {},
): ExportedHandler<E> & { fetch: NonNullable<ExportedHandler<E>["fetch"]> } {
  if (typeof handler?.fetch !== "function") {
    throw new TypeError(
      "withFlux needs a handler with a fetch(request, env, ctx) method, or a Hono app",
    );
  }
  const resolved = resolveOptions(options);
  installBoundaries();
  const inner = (request: Request, env: E, ctx: ExecutionContext) =>
    handler.fetch(request, env, ctx);

  async function replay(request: Request, env: E): Promise<Response> {
    try {
      const envelope = decodeEnvelope(new Uint8Array(await request.arrayBuffer()));
      const pending: Promise<unknown>[] = [];
      const result = await executeReplay(
        envelope,
        async (req, session) => {
          const ctx = {
            waitUntil(p: Promise<unknown>) {
              session.track(p);
              pending.push(p);
            },
            passThroughOnException() {},
            props: {},
          } as unknown as ExecutionContext;
          return inner(req, wrapEnv(env), ctx);
        },
        { env: env as Record<string, unknown>, maskHeaders: resolved.maskHeaders },
      );
      return new Response(encodeResult(result), {
        headers: { "content-type": "application/cbor" },
      });
    } catch (err) {
      const code = isFluxError(err) ? err.code : "ERR_REPLAY_ENVELOPE";
      const message = isFluxError(err) ? err.message : "Replay failed inside the worker";
      return Response.json({ error: { code, message } }, { status: 422 });
    }
  }

  const wrapped = {
    ...(handler as object),
    async fetch(request: Request, env: E, ctx: ExecutionContext): Promise<Response> {
      const rawEnv = env as Record<string, unknown>;
      if (isReplay(request, rawEnv)) return replay(request, env);
      const rec = beginRecording(request, rawEnv, resolved);
      const { session } = rec;
      const flux = {
        waitUntil(p: Promise<unknown>) {
          session.track(p);
          ctx.waitUntil(p);
        },
        passThroughOnException() {
          ctx.passThroughOnException();
        },
        get props() {
          return (ctx as { props?: unknown }).props;
        },
      } as unknown as ExecutionContext;
      const close = () =>
        ctx.waitUntil(
          finishRecording(rec, resolved, {
            app:
              resolved.options.app ??
              (typeof rawEnv.FLUX_APP === "string" ? rawEnv.FLUX_APP : "app"),
            runtime: "workerd",
            sink:
              resolved.options.sink ??
              (rawEnv.FLUX_TRACES ? r2Sink(rawEnv.FLUX_TRACES as R2Bucket) : undefined),
            publicKey: resolved.options.publicKey ?? (rawEnv.FLUX_PUBLIC_KEY as string | undefined),
          }),
        );
      let response: Response;
      try {
        response = await runInSession(session, () => inner(request, wrapEnv(env), flux));
      } catch (err) {
        recordException(rec, err);
        close();
        throw err;
      }
      recordResponse(rec, response);
      close();
      return response;
    },
  };
  return wrapped as ExportedHandler<E> & { fetch: NonNullable<ExportedHandler<E>["fetch"]> };
}
