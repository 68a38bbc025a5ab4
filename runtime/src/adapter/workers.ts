/**
 * `withFlux` for Cloudflare Workers. It wraps a module worker (an object with `fetch`,
 * `scheduled`, `queue`, `email`... or a Hono app), or a class (a `WorkerEntrypoint`, a Durable
 * Object), and changes nothing the app can see: the object stays itself behind a Proxy (same
 * prototype, members, `instanceof`), a class is subclassed under its own name with every method
 * kept, and env bindings are wrapped by their kind's table. Each handler call is an execution
 * recorded into a sealed trace written through `waitUntil`; the default export's `fetch` also
 * serves replays started by a harness or an agent.
 * @module
 */
import { bindingKind, installBoundaries, wrapEnv } from "../boundaries/index.js";
import { durableObjectBinding } from "../boundaries/bindings/durable-object.js";
import { INCOMING } from "../boundaries/incoming/index.js";
import { wrapStorage } from "../boundaries/storage.js";
import { FluxError } from "../errors.js";
import { recordExecution, type ExecutionSettings, type StoreTarget } from "../internal/recorder.js";
import { currentSession, runInSession, type Session } from "../internal/session.js";
import { resolveOptions, type FluxOptions, type ResolvedOptions } from "../options.js";
import type { ReplayEnvelope } from "../replay/envelope.js";
import { executeReplay, type ReplayInvocation } from "../replay/execute.js";
import { drainQueueBatch } from "../sink/queue-spool.js";
import { r2Sink } from "../sink/r2.js";
import type { HandlerKind } from "../trace/schema.js";
import {
  replayAccess,
  serveReplay,
  type ReplayAccess,
  type ReplayRequest,
} from "./_replay-endpoint.js";

/** Anything with a Workers-style fetch: a module worker object or a Hono app. */
export interface FetchHandler<E> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Response | Promise<Response>;
}

type Env = Record<string, unknown>;
type AnyFunction = (...args: unknown[]) => unknown;

/** Handler members of a module worker object that are executions. */
const OBJECT_HANDLERS: readonly HandlerKind[] = ["fetch", "scheduled", "queue", "email"];

/** The app name of the first withFlux call that gave one: classes wrapped alone share it. */
let isolateApp: string | undefined;

function storeTarget(resolved: ResolvedOptions, env: Env): StoreTarget {
  return {
    app:
      resolved.options.app ??
      isolateApp ??
      (typeof env.FLUX_APP === "string" ? env.FLUX_APP : "app"),
    runtime: "workerd",
    sink:
      resolved.options.sink ?? (env.FLUX_TRACES ? r2Sink(env.FLUX_TRACES as R2Bucket) : undefined),
    publicKey: resolved.options.publicKey ?? (env.FLUX_PUBLIC_KEY as string | undefined),
    signingKey: resolved.options.signingKey ?? (env.FLUX_SIGNING_KEY as string | undefined),
    release: releaseFor(resolved, env),
  };
}

/** The release this build runs as: the `release` option, else {@link releaseOf} the env. */
function releaseFor(resolved: ResolvedOptions, env: Env): string | undefined {
  return resolved.options.release ?? releaseOf(env);
}

/** FLUX_RELEASE, else the id of a version metadata binding named CF_VERSION_METADATA. */
function releaseOf(env: Env): string | undefined {
  if (typeof env.FLUX_RELEASE === "string" && env.FLUX_RELEASE) return env.FLUX_RELEASE;
  const meta = env.CF_VERSION_METADATA as { id?: unknown } | undefined;
  return typeof meta === "object" && meta !== null && typeof meta.id === "string" && meta.id
    ? meta.id
    : undefined;
}

function settings(
  resolved: ResolvedOptions,
  env: Env,
  ctx: { waitUntil(p: Promise<unknown>): void } | undefined,
): ExecutionSettings {
  return {
    resolved,
    env,
    store: () => storeTarget(resolved, env),
    defer: (work) => ctx?.waitUntil(work),
  };
}

/**
 * Shadows `prop` on a live runtime object with `value`, keeping the original's enumerability:
 * the object keeps its class (the runtime checks it), only the member differs.
 */
function shadow(target: object, prop: string, value: PropertyDescriptor): void {
  const own = Object.getOwnPropertyDescriptor(target, prop);
  Object.defineProperty(target, prop, {
    configurable: true,
    enumerable: own?.enumerable ?? false,
    ...value,
  });
}

const patched = new WeakSet<object>();

/** Tracks `waitUntil` work of the current session, in place (once per context object). */
function patchCtx<C>(ctx: C): C {
  if (typeof ctx !== "object" || ctx === null || patched.has(ctx)) return ctx;
  const waitUntil = Reflect.get(ctx, "waitUntil") as unknown;
  if (typeof waitUntil !== "function") return ctx;
  patched.add(ctx);
  shadow(ctx, "waitUntil", {
    writable: true,
    value: (p: Promise<unknown>) => {
      currentSession()?.track(p);
      return Reflect.apply(waitUntil, ctx, [p]) as unknown;
    },
  });
  return ctx;
}

/**
 * A Durable Object's state, patched in place (the runtime refuses a stand-in): its storage
 * recorded, its `waitUntil` tracked, its `id` the recorded one in replay.
 */
function patchState<C extends object>(state: C): C {
  if (patched.has(state)) return state;
  patchCtx(state);
  const storage = Reflect.get(state, "storage") as unknown;
  if (typeof storage === "object" && storage !== null) {
    shadow(state, "storage", { writable: false, value: wrapStorage(storage) });
  }
  const id = Reflect.get(state, "id") as DurableObjectId;
  shadow(state, "id", {
    get: () => {
      const session = currentSession();
      const recorded = session?.mode === "replay" ? objectId(session) : null;
      return recorded ? recordedId(recorded) : id;
    },
  });
  return state;
}

function recordedId(data: { id: string; name: string | null }): DurableObjectId {
  return {
    toString: () => data.id,
    equals: (other: DurableObjectId) => String(other) === data.id,
    ...(data.name === null ? {} : { name: data.name }),
  } as unknown as DurableObjectId;
}

function isDurableObjectState(value: unknown): value is { id: DurableObjectId; storage: object } {
  return typeof value === "object" && value !== null && "storage" in value && "id" in value;
}

/** The execution context handed to a replayed handler: waitUntil work is awaited by the session. */
function replayCtx(session: Session): ExecutionContext {
  return {
    waitUntil: (p: Promise<unknown>) => session.track(p),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
}

/** The Durable Object's id, recorded once per execution, served in replay. */
function objectId(session: Session, state?: { id: DurableObjectId }) {
  return session.read<{ id: string; name: string | null } | null>({
    kind: "env",
    op: "object",
    target: "id",
    byTarget: true,
    quiet: true,
    live: () => (state ? { id: String(state.id), name: state.id.name ?? null } : null),
    fallback: () => null,
    revive: (d) => d as { id: string; name: string | null } | null,
  });
}

/** True when a trace is a Durable Object's execution (it recorded the object's id). */
function isObjectTrace(envelope: ReplayEnvelope): boolean {
  return envelope.events.some((e) => e.kind === "env" && e.op === "object" && e.target === "id");
}

// ---------------------------------------------------------------- classes

interface WrappedClass {
  Wrapped: new (...args: unknown[]) => object;
  /** The class's own (unwrapped) methods, by name. */
  methods: Map<string, AnyFunction>;
}

/** Classes wrapped in this isolate, by name: a replay of one of their executions finds it here. */
const classes = new Map<string, WrappedClass>();

/** Base classes from `cloudflare:workers` whose members are the runtime's, not the app's. */
const RUNTIME_BASES: ReadonlySet<string> = new Set([
  "WorkerEntrypoint",
  "DurableObject",
  "WorkflowEntrypoint",
  "RpcTarget",
]);

function handlerKindOf(method: string): HandlerKind | undefined {
  if (method === "fetch" || method === "scheduled" || method === "queue" || method === "email") {
    return method;
  }
  if (method === "alarm") return "alarm";
  // WebSocket hibernation handlers are not executions FluxRun can replay: left untouched.
  if (method.startsWith("webSocket") || method.startsWith("_")) return undefined;
  return "rpc";
}

/** The app's own methods of a class, up to the runtime's base class. */
function ownMethods(Base: AnyFunction): Map<string, AnyFunction> {
  const out = new Map<string, AnyFunction>();
  for (
    let proto = Base.prototype as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    if (ctor?.name && RUNTIME_BASES.has(ctor.name) && proto !== Base.prototype) break;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || out.has(name)) continue;
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof d?.value === "function") out.set(name, d.value as AnyFunction);
    }
  }
  return out;
}

/** Runs the replayed execution's method (unwrapped) on `instance`. */
function runMethod(
  cls: WrappedClass,
  entry: string,
  instance: object,
  invocation: ReplayInvocation,
): unknown {
  const name =
    invocation.handler === "rpc" ? invocation.event.target : (invocation.handler as string);
  const method = cls.methods.get(name);
  if (!method) {
    throw new FluxError("ERR_REPLAY_ENVELOPE", `Class ${entry} has no method ${name} to replay`);
  }
  return Reflect.apply(method, instance, invocation.args);
}

/** Status a Durable Object answers when a replay envelope is for another class. */
const OTHER_ENTRY = 421;

function wrapClass<C extends AnyFunction>(Base: C, resolved: ResolvedOptions): C {
  const entry = Base.name;
  const raw = new WeakMap<object, { env: Env; ctx: object }>();
  const Parent = Base as unknown as new (...args: unknown[]) => object;
  const Wrapped = class extends Parent {
    constructor(...args: unknown[]) {
      const [ctx, env, ...rest] = args;
      const context = isDurableObjectState(ctx) ? patchState(ctx) : patchCtx(ctx);
      super(context, typeof env === "object" && env !== null ? wrapEnv(env) : env, ...rest);
      raw.set(this, { env: (env ?? {}) as Env, ctx: ctx as object });
    }
  };
  const methods = ownMethods(Base);
  const cls: WrappedClass = { Wrapped: Wrapped as WrappedClass["Wrapped"], methods };

  /** A replay envelope sent to this instance (a Durable Object): run here if it is ours. */
  const replayHere = (instance: object, request: Request, env: Env, access: ReplayAccess) =>
    serveReplay(
      request,
      env,
      access,
      async ({ envelope }) => {
        if (envelope.entry !== entry) {
          return Response.json({ error: { code: "ERR_REPLAY_ENVELOPE" } }, { status: OTHER_ENTRY });
        }
        return executeReplay(envelope, async (inv) => runMethod(cls, entry, instance, inv), {
          env,
          maskHeaders: resolved.maskHeaders,
          route: resolved.route,
        });
      },
      releaseFor(resolved, env),
    );

  for (const [name, real] of methods) {
    const kind = handlerKindOf(name);
    if (!kind) continue;
    const method = function (this: object, ...args: unknown[]): unknown {
      const r = raw.get(this);
      if (!r) return Reflect.apply(real, this, args);
      if (kind === "fetch") {
        const access = replayAccess(args[0] as Request, r.env);
        if (access) return replayHere(this, args[0] as Request, r.env, access);
      }
      const state = isDurableObjectState(r.ctx) ? r.ctx : undefined;
      const incoming = INCOMING[kind].record(args, {
        entry,
        method: name,
        route: resolved.route,
      });
      return recordExecution(
        incoming.trigger,
        settings(resolved, r.env, r.ctx as ExecutionContext),
        (session) => {
          if (state) objectId(session, state);
          return Reflect.apply(real, this, incoming.args);
        },
      );
    };
    Object.defineProperty(method, "name", { value: name });
    Object.defineProperty(Wrapped.prototype, name, {
      value: method,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (!methods.has("fetch")) {
    // A Durable Object without fetch still takes replay envelopes; anything else is refused as
    // the runtime would refuse it.
    Object.defineProperty(Wrapped.prototype, "fetch", {
      configurable: true,
      writable: true,
      enumerable: false,
      value(this: object, request: Request) {
        const r = raw.get(this);
        const access = r ? replayAccess(request, r.env) : undefined;
        if (r && access) return replayHere(this, request, r.env, access);
        throw new TypeError("Handler does not export a fetch() function.");
      },
    });
  }
  Object.defineProperty(Wrapped, "name", { value: entry });
  classes.set(entry, cls);
  return Wrapped as unknown as C;
}

// ---------------------------------------------------------------- the default export

/**
 * Sends a Durable Object's replay envelope to a fresh instance of each namespace in turn until
 * one runs that class (only an instance has real Durable Object state to run in).
 */
async function replayInObject(env: Env, replay: ReplayRequest): Promise<Response> {
  for (const value of Object.values(env)) {
    if (bindingKind(value) !== durableObjectBinding) continue;
    const ns = value as DurableObjectNamespace;
    const res = await ns.get(ns.newUniqueId()).fetch("https://fluxrun.replay/", {
      method: "POST",
      headers: replay.headers,
      body: replay.body,
    });
    if (res.status !== OTHER_ENTRY) return res;
    await res.body?.cancel();
  }
  throw new FluxError(
    "ERR_REPLAY_ENVELOPE",
    `No Durable Object namespace of this worker runs class ${replay.envelope.entry}`,
  );
}

/** The replay endpoint of the default export (an object's handlers, or the classes). */
function replayDefault(
  request: Request,
  env: Env,
  access: ReplayAccess,
  resolved: ResolvedOptions,
  handler: object | undefined,
): Promise<Response> {
  return serveReplay(
    request,
    env,
    access,
    async (replay) => {
      const { envelope } = replay;
      if (envelope.entry !== undefined && isObjectTrace(envelope))
        return replayInObject(env, replay);
      return executeReplay(
        envelope,
        async (invocation, session) => {
          if (invocation.entry !== undefined) {
            const cls = classes.get(invocation.entry);
            if (!cls) {
              throw new FluxError(
                "ERR_REPLAY_ENVELOPE",
                `The trace ran class ${invocation.entry}, which this worker does not wrap with withFlux`,
              );
            }
            const instance = runInSession(
              undefined,
              () => new cls.Wrapped(replayCtx(session), env),
            );
            return runMethod(cls, invocation.entry, instance, invocation);
          }
          const real = handler ? (Reflect.get(handler, invocation.handler) as unknown) : undefined;
          if (typeof real !== "function") {
            throw new FluxError(
              "ERR_REPLAY_ENVELOPE",
              `The worker's default export has no ${invocation.handler} handler to replay`,
            );
          }
          return Reflect.apply(real, handler, [
            ...invocation.args,
            wrapEnv(env),
            replayCtx(session),
          ]);
        },
        { env, maskHeaders: resolved.maskHeaders, route: resolved.route },
      );
    },
    releaseFor(resolved, env),
  );
}

interface HonoRoute {
  method: string;
  path: string;
  handler: (...args: unknown[]) => unknown;
}

/**
 * The route template of a request to a Hono app (`/products/:id`), found with the app's own
 * router as Hono will match it: the last matched route whose handler is not middleware (Hono's own
 * rule: a handler taking `next` is middleware). A request only middleware matches is
 * `(no route)`, so route labels stay bounded. Undefined for anything not a Hono app.
 */
export function honoRoute(app: object): ((request: Request) => string) | undefined {
  const hono = app as {
    router?: { match?: (method: string, path: string) => unknown };
    getPath?: (request: Request, options: { env?: unknown }) => string;
  };
  const router = hono.router;
  if (typeof router?.match !== "function" || typeof hono.getPath !== "function") return undefined;
  return (request) => {
    const method = request.method === "HEAD" ? "GET" : request.method;
    // Looked up on each call: Hono's SmartRouter replaces its match on first use.
    const [matches] = router.match!(method, hono.getPath!(request, {})) as [
      [[unknown, HonoRoute], unknown][],
    ];
    for (let i = matches.length - 1; i >= 0; i--) {
      const route = matches[i]![0][1];
      if (route.handler.length < 2) return route.path;
    }
    return "(no route)";
  };
}

function wrapObject<H extends object>(handler: H, resolved: ResolvedOptions): H {
  const wrappers = new Map<PropertyKey, AnyFunction>();
  const execution =
    (kind: HandlerKind, real: AnyFunction) =>
    (arg: unknown, env: Env, ctx: ExecutionContext): Promise<unknown> => {
      const incoming = INCOMING[kind].record([arg], { route: resolved.route });
      return recordExecution(incoming.trigger, settings(resolved, env, ctx), () =>
        Reflect.apply(real, handler, [...incoming.args, wrapEnv(env), patchCtx(ctx)]),
      );
    };
  // A handler without fetch gets one that only serves replays (cron-only and queue-only workers).
  const fetch = (request: Request, env: Env, ctx: ExecutionContext): unknown => {
    const access = replayAccess(request, env);
    if (access) return replayDefault(request, env, access, resolved, handler);
    const real = Reflect.get(handler, "fetch") as unknown;
    if (typeof real !== "function") {
      throw new TypeError("Handler does not export a fetch() function.");
    }
    return execution("fetch", real as AnyFunction)(request, env, ctx);
  };
  // A queue batch of FluxRun's own spooled traces (httpSink's queueSpool) is drained to ingest,
  // never recorded; any other batch is the app's.
  const spoolSink = resolved.options.sink;
  const drains =
    typeof (spoolSink as { redeliver?: unknown } | undefined)?.redeliver === "function";
  const queue = (batch: MessageBatch, env: Env, ctx: ExecutionContext): unknown => {
    const real = Reflect.get(handler, "queue") as unknown;
    return drainQueueBatch(batch, spoolSink).then((drained) => {
      if (drained) return undefined;
      if (typeof real !== "function") {
        throw new TypeError("Handler does not export a queue() function.");
      }
      return execution("queue", real as AnyFunction)(batch, env, ctx);
    });
  };
  return new Proxy(handler, {
    get(target, prop, receiver) {
      if (prop === "fetch") return fetch;
      if (prop === "queue" && (drains || typeof Reflect.get(target, prop) === "function")) {
        return queue;
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || !OBJECT_HANDLERS.includes(prop as HandlerKind)) {
        return value;
      }
      let w = wrappers.get(prop);
      if (!w) {
        w = execution(prop as HandlerKind, value as AnyFunction) as AnyFunction;
        wrappers.set(prop, w);
      }
      return w;
    },
    has: (target, prop) =>
      prop === "fetch" || (prop === "queue" && drains) || Reflect.has(target, prop),
  });
}

/**
 * Wraps a Workers handler so every execution is recorded: a module worker object, a Hono app, or
 * a class (`WorkerEntrypoint`, Durable Object). What it returns behaves as the handler did.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { withFlux } from "fluxrun";
 * const app = new Hono();
 * app.get("/", (c) => c.text("hi"));
 * export default withFlux(app, { app: "shop-api" });
 * export const Counter = withFlux(class Counter extends DurableObject { ... });
 * ```
 */
export function withFlux<C extends abstract new (...args: never[]) => object>(
  handler: C,
  options?: FluxOptions,
): C;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- env types come from the handler
export function withFlux<E = any, H extends ExportedHandler<E> = ExportedHandler<E>>(
  handler: H,
  options?: FluxOptions,
): H & { fetch: ExportedHandlerFetchHandler<E> };
export function withFlux<H extends object>(handler: H, options: FluxOptions = {}): H {
  const resolved = resolveOptions(options);
  isolateApp ??= options.app;
  if (typeof handler === "function") {
    if (typeof (handler as { prototype?: unknown }).prototype !== "object") {
      throw new TypeError("withFlux needs a handler object, a Hono app, or a class");
    }
    installBoundaries();
    return wrapClass(handler as unknown as AnyFunction, resolved) as unknown as H;
  }
  if (typeof handler !== "object" || handler === null) {
    throw new TypeError(
      "withFlux needs a handler with a fetch(request, env, ctx) method, or a Hono app",
    );
  }
  const hasHandler = OBJECT_HANDLERS.some(
    (k) => typeof (handler as Record<string, unknown>)[k] === "function",
  );
  if (!hasHandler) {
    throw new TypeError(
      "withFlux needs a handler with a fetch(request, env, ctx) method, or a Hono app",
    );
  }
  installBoundaries();
  const template = options.route ? undefined : honoRoute(handler);
  return wrapObject(handler, template ? { ...resolved, route: template } : resolved);
}
