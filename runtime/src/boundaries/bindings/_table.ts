/**
 * Binding wrappers driven by operation tables (Sentry's `R2_OPERATIONS` pattern): the wrapper is a
 * Proxy over the real binding, so `constructor`, `instanceof`, property enumeration and every
 * member the table does not list behave as on the real object. Listed operations go through the
 * current session; an unlisted method is recorded as `unsupported` and run live when recording,
 * and refused in replay. Primitive properties (a Hyperdrive's `connectionString`) are env reads.
 *
 * Three kinds of operation:
 * - `call`: asynchronous IO, one trace event (`KV.get`, `stmt.run`, `stub.fetch`);
 * - `sync`: synchronous IO, one trace event (`sql.exec`, `session.getBookmark`, `newUniqueId`);
 * - `child`: builds another wrapped object without IO (`prepare`, `bind`, `withSession`, `get`).
 * @module
 */
import { currentSession, type Session } from "../../internal/session.js";
import type { EventKind } from "../../trace/schema.js";
import { isUnencodable } from "../../internal/values.js";
import { captureSite, type RawSite } from "../../internal/site.js";
import { recordPropertyRead } from "../env.js";

/** One wrapped object: the real one behind it and what its operations need to know. */
export interface Handle<S = unknown> {
  /** The real object (recording), or the replay env's object, or a stand-in. */
  readonly real: object;
  /** The env binding it came from (`DB`). */
  readonly binding: string;
  /** The trace event target of its operations (`DB`, `COUNTER/9f2c…`). */
  readonly target: string;
  /** Per-object data (a statement's SQL and parameters). */
  readonly state: S;
  /** True when `real` is a stand-in (replay without the binding in its config). */
  readonly standIn: boolean;
}

/** The arguments as sealed request data, and the arguments to pass on (bodies read once). */
export interface Prepared {
  request: unknown;
  args?: unknown[];
}

/** What an operation's functions are given: the object, the call's arguments, the body limit. */
export interface OpContext<S = unknown> {
  readonly h: Handle<S>;
  readonly args: unknown[];
  /** Bytes per recorded body or value (the session's `maxBodyBytes`; Infinity outside one). */
  readonly limit: number;
  /** What `capture` leaves for `revive` in the same call (a body stream branch). */
  scratch?: unknown;
}

interface OperationBase<S> {
  /** Write-class effect: never run in replay, shown as a write. */
  write?: boolean | ((c: OpContext<S>) => boolean);
  /**
   * The result carries nothing (a KV put, a queue send): when replay blocks the call because the
   * trace lacks it, the app gets what `revive(null)` gives and goes on; the report names it.
   */
  void?: boolean;
  /** Sealed request data from the arguments. Default: the arguments. */
  request?(c: OpContext<S>): Prepared | Promise<Prepared>;
  /** Runs the operation on the real object with `args`. Default: the method of the same name. */
  live?(c: OpContext<S>, args: unknown[]): unknown;
  /** Live result → recorded data (may read bodies). Default: the result itself. */
  capture?(value: unknown, c: OpContext<S>): unknown;
  /**
   * Recorded data → the value handed to the app, in record and replay alike. `live` is the live
   * result when recording (so a handle can wrap the real object), undefined in replay.
   */
  revive?(data: unknown, c: OpContext<S>, live: unknown): unknown;
}

/** Asynchronous IO: one event; the app gets a promise. */
export interface CallOperation<S = unknown> extends OperationBase<S> {
  type: "call";
}

/** Synchronous IO: one event; the app gets the value. */
export interface SyncOperation<S = unknown> extends OperationBase<S> {
  type: "sync";
}

/** A synchronous factory without IO; the child is wrapped by its own table. */
export interface ChildOperation<S = unknown> {
  type: "child";
  /** Builds the wrapped child. `session` is undefined outside an execution. */
  make(h: Handle<S>, args: unknown[], session: Session | undefined): object;
}

/** An operation that handles its own recording (an HTTP exchange), or needs none in replay. */
export interface DirectOperation<S = unknown> {
  type: "direct";
  /** Runs the operation; `session` is undefined outside an execution. */
  invoke(h: Handle<S>, args: unknown[], session: Session | undefined, site?: RawSite): unknown;
}

export type Operation<S = unknown> =
  CallOperation<S> | SyncOperation<S> | ChildOperation<S> | DirectOperation<S>;

/** The operations of one object type (a binding, a statement, a stub). */
export interface OperationTable<S = unknown> {
  /** Event kind of its operations. Default `binding`. */
  readonly kind?: EventKind;
  readonly ops: Readonly<Record<string, Operation<S>>>;
  /** Primitive properties are configuration the app reads: recorded as env reads. */
  readonly recordProperties?: boolean;
  /** Object properties wrapped in turn (a Durable Object storage's `sql` and `kv`). */
  readonly children?: Readonly<Record<string, (value: unknown, h: Handle<S>) => unknown>>;
  /** For RPC stubs: the operation of any other method name (JS RPC). */
  rpc?(method: string): Operation<S>;
}

/** Names never treated as RPC methods (an RPC stub answers every name). */
const NOT_RPC: ReadonlySet<string> = new Set([
  "then",
  "constructor",
  "toString",
  "toJSON",
  "valueOf",
  "toLocaleString",
  "dup",
  "fetch",
  "connect",
]);

const handles = new WeakMap<object, Handle<any>>();

/** The handle behind a wrapper made by {@link wrapWithTable}, if `value` is one. */
export function handleOf<S>(value: unknown): Handle<S> | undefined {
  return typeof value === "object" && value !== null
    ? (handles.get(value) as Handle<S> | undefined)
    : undefined;
}

function isWrite<S>(op: OperationBase<S>, c: OpContext<S>): boolean {
  return typeof op.write === "function" ? op.write(c) : op.write === true;
}

function liveCall<S>(
  op: OperationBase<S>,
  h: Handle<S>,
  name: string,
  args: unknown[],
  c: OpContext<S>,
): unknown {
  if (op.live) return op.live(c, args);
  const method = Reflect.get(h.real, name) as unknown;
  if (typeof method !== "function") {
    throw new TypeError(`${h.binding}.${name} is not a function`);
  }
  return Reflect.apply(method, h.real, args);
}

/** Where the app called `fn`, when an execution is running. */
function siteOf(fn: (...a: never[]) => unknown): RawSite | undefined {
  return currentSession()?.sampled ? captureSite(fn) : undefined;
}

function runCall<S>(
  table: OperationTable<S>,
  op: CallOperation<S>,
  h: Handle<S>,
  name: string,
  args: unknown[],
  site: RawSite | undefined,
): Promise<unknown> {
  const session = currentSession();
  if (!session) {
    try {
      return Promise.resolve(liveCall(op, h, name, args, { h, args, limit: Infinity }));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  const c: OpContext<S> = { h, args, limit: session.limits.maxBodyBytes };
  const go = (prepared: Prepared): Promise<unknown> => {
    const passed = prepared.args ?? args;
    let liveValue: unknown;
    return session
      .call<unknown>({
        kind: table.kind ?? "binding",
        op: name,
        target: h.target,
        ...(isWrite(op, c) ? { write: true } : {}),
        ...(isUnencodable(prepared.request)
          ? { info: { unencodable: prepared.request.unencodable } }
          : {}),
        request: prepared.request,
        live: async () => {
          liveValue = await liveCall(op, h, name, passed, c);
          return op.capture ? op.capture(liveValue, c) : liveValue;
        },
        capture: (data, addInfo) => {
          if (isUnencodable(data)) addInfo({ unencodable: data.unencodable });
          return { value: data, data };
        },
        revive: (data) => data,
        ...(op.void ? { blocked: () => null } : {}),
        site,
      })
      .then((data) => (op.revive ? op.revive(data, c, liveValue) : data));
  };
  try {
    const prepared = op.request ? op.request(c) : { request: args };
    return prepared instanceof Promise ? prepared.then(go) : go(prepared);
  } catch (err) {
    return Promise.reject(err);
  }
}

function runSync<S>(
  table: OperationTable<S>,
  op: SyncOperation<S>,
  h: Handle<S>,
  name: string,
  args: unknown[],
  site: RawSite | undefined,
): unknown {
  const session = currentSession();
  if (!session) return liveCall(op, h, name, args, { h, args, limit: Infinity });
  const c: OpContext<S> = { h, args, limit: session.limits.maxBodyBytes };
  const prepared = op.request ? op.request(c) : { request: args };
  if (prepared instanceof Promise) throw new TypeError(`${name} cannot prepare asynchronously`);
  let liveValue: unknown;
  const data = session.callSync<unknown>({
    kind: table.kind ?? "binding",
    op: name,
    target: h.target,
    ...(isWrite(op, c) ? { write: true } : {}),
    ...(op.void ? { blocked: () => null } : {}),
    request: prepared.request,
    site,
    live: () => {
      liveValue = liveCall(op, h, name, prepared.args ?? args, c);
      return op.capture ? op.capture(liveValue, c) : liveValue;
    },
  });
  return op.revive ? op.revive(data, c, liveValue) : data;
}

function operationFunction<S>(
  table: OperationTable<S>,
  op: Operation<S>,
  h: Handle<S>,
  name: string,
): (...args: unknown[]) => unknown {
  switch (op.type) {
    case "call": {
      const fn = (...args: unknown[]) => runCall(table, op, h, name, args, siteOf(fn));
      return fn;
    }
    case "sync": {
      const fn = (...args: unknown[]) => runSync(table, op, h, name, args, siteOf(fn));
      return fn;
    }
    case "child":
      return (...args) => op.make(h, args, currentSession());
    case "direct": {
      const fn = (...args: unknown[]): unknown => op.invoke(h, args, currentSession(), siteOf(fn));
      return fn;
    }
  }
}

/** Runs the table's operation `name` on `h` as if the app had called it on the wrapper. */
export function invokeOperation<S>(
  table: OperationTable<S>,
  name: string,
  h: Handle<S>,
  args: unknown[],
): unknown {
  const op = table.ops[name];
  if (!op) throw new TypeError(`No operation ${name}`);
  return operationFunction(table, op, h, name)(...args);
}

/**
 * Wraps `real` with a Proxy that routes the table's operations through the current session and
 * passes everything else to the real object untouched (methods keep `this` on it).
 */
export function wrapWithTable<S>(
  real: object,
  table: OperationTable<S>,
  handle: Omit<Handle<S>, "real" | "standIn"> & { standIn?: boolean },
): object {
  const h: Handle<S> = { ...handle, real, standIn: handle.standIn ?? false };
  const functions = new Map<PropertyKey, unknown>();
  const wrapper = new Proxy(real, {
    get(target, prop) {
      const memo = functions.get(prop);
      if (memo !== undefined) return memo;
      const op = typeof prop === "string" ? table.ops[prop] : undefined;
      if (op && Object.hasOwn(table.ops, prop)) {
        const fn = operationFunction(table, op, h, prop as string);
        functions.set(prop, fn);
        return fn;
      }
      // The real object's own getters run with `this` on it (native getters refuse a Proxy).
      const value = Reflect.get(target, prop) as unknown;
      if (typeof prop !== "string" || prop === "constructor") return value;
      const child = table.children?.[prop];
      if (child && Object.hasOwn(table.children!, prop)) {
        const wrappedChild = child(value, h);
        functions.set(prop, wrappedChild);
        return wrappedChild;
      }
      if (typeof value === "function") {
        const rpcOp = table.rpc && !NOT_RPC.has(prop) ? table.rpc(prop) : undefined;
        const fn = rpcOp
          ? operationFunction(table, rpcOp, h, prop)
          : unsupportedMethod(value as (...a: unknown[]) => unknown, target, h.target, prop);
        functions.set(prop, fn);
        return fn;
      }
      if (
        table.recordProperties &&
        value !== null &&
        typeof value !== "object" &&
        typeof value !== "symbol"
      ) {
        const session = currentSession();
        return session ? recordPropertyRead(session, `${h.binding}.${prop}`, value) : value;
      }
      return value;
    },
  });
  handles.set(wrapper, h);
  return wrapper;
}

function unsupportedMethod(
  method: (...a: unknown[]) => unknown,
  target: object,
  eventTarget: string,
  name: string,
): (...args: unknown[]) => unknown {
  return (...args) => {
    // Recording: noted, then run live. Replay: refused (note throws ERR_REPLAY_UNSUPPORTED).
    currentSession()?.note("unsupported", name, eventTarget, null);
    return Reflect.apply(method, target, args);
  };
}

/**
 * A stand-in for a binding the replay config lacks: an object whose `constructor.name` is the
 * recorded one, so code that detects bindings by name sees the same thing.
 */
export function standIn(constructorName: string, rpc = false): object {
  const ctor = { [constructorName]: function () {} }[constructorName]!;
  const base = Object.create(ctor.prototype as object) as object;
  if (!rpc) return base;
  // RPC stubs answer every name with a callable; a stand-in does too.
  return new Proxy(base, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (v !== undefined || typeof prop !== "string" || NOT_RPC.has(prop)) return v;
      return () => {
        throw new TypeError(`${constructorName}.${prop} is not available in replay`);
      };
    },
  });
}
