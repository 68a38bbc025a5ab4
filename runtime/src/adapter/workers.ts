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
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_HEADER,
  claimsAgentReplay,
  hasHarnessSecret,
  verifyReplay,
} from "../replay/authorize.js";
import { decodeEnvelope, encodeResult, executeReplay } from "../replay/execute.js";
import { r2Sink } from "../sink/r2.js";
import { FluxError, isFluxError } from "../errors.js";

/** Anything with a Workers-style fetch: a module worker object or a Hono app. */
export interface FetchHandler<E> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
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

  async function replay(request: Request, env: E, signed: boolean): Promise<Response> {
    try {
      const body = new Uint8Array(await request.arrayBuffer());
      const signedFor = signed
        ? await verifyReplay(
            request.headers.get(REPLAY_AUTH_HEADER) ?? "",
            body,
            (env as Record<string, unknown>)[AGENT_KEY_VAR] as string,
          )
        : undefined;
      const envelope = decodeEnvelope(body);
      if (signedFor !== undefined && signedFor !== envelope.traceId) {
        throw new FluxError(
          "ERR_REPLAY_ENVELOPE",
          "Replay authorization refused: signed for another trace",
        );
      }
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
      return Response.json({ error: { code, message } }, { status: signed ? 403 : 422 });
    }
  }

  const wrapped = {
    ...(handler as object),
    async fetch(request: Request, env: E, ctx: ExecutionContext): Promise<Response> {
      const rawEnv = env as Record<string, unknown>;
      if (hasHarnessSecret(request, rawEnv)) return replay(request, env, false);
      if (claimsAgentReplay(request, rawEnv)) return replay(request, env, true);
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
