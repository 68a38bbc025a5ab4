/**
 * The boundary registry: the global patches, the binding kinds in detection order, and the env
 * wrapper that hands each binding to its kind.
 *
 * The wrapped env is a Proxy over the real one: the app sees the same names, values, enumeration
 * and property descriptors, except FluxRun's own (`FLUX_*`, `__FLUX*`), which it cannot see at
 * all. When recording, the env's shape (names, and the kind and class name of each binding) is
 * recorded once per execution and each value read once; in replay both come from the trace, so the
 * app sees the recorded env whatever the replay config holds, with bindings it lacks replaced by
 * stand-ins of the same class name.
 * @module
 */
import { currentSession, type Session } from "../internal/session.js";
import type { BindingKind, GlobalBoundary } from "./_boundary.js";
import { cacheBoundary } from "./cache.js";
import { clockBoundary } from "./clock.js";
import { consoleBoundary } from "./console.js";
import { cryptoBoundary } from "./crypto.js";
import { isFluxName, recordVarRead } from "./env.js";
import { fetchBoundary } from "./fetch.js";
import { randomBoundary } from "./random.js";
import { timersBoundary } from "./timers.js";
import { d1Binding } from "./bindings/d1.js";
import { durableObjectBinding } from "./bindings/durable-object.js";
import { kvBinding } from "./bindings/kv.js";
import { queueBinding } from "./bindings/queue.js";
import { r2Binding } from "./bindings/r2.js";
import { serviceBinding } from "./bindings/service.js";
import { unsupportedBinding } from "./bindings/unsupported.js";
import { standIn } from "./bindings/_table.js";

export const GLOBAL_BOUNDARIES: readonly GlobalBoundary[] = [
  fetchBoundary,
  clockBoundary,
  randomBoundary,
  cryptoBoundary,
  consoleBoundary,
  cacheBoundary,
  timersBoundary,
];

/** Binding kinds, most specific first; the last one takes any other binding object. */
export const BINDING_KINDS: readonly BindingKind[] = [
  serviceBinding,
  durableObjectBinding,
  d1Binding,
  r2Binding,
  kvBinding,
  queueBinding,
  unsupportedBinding,
];

let installed = false;

/** Installs every global patch once per isolate. */
export function installBoundaries(): void {
  if (installed) return;
  installed = true;
  for (const b of GLOBAL_BOUNDARIES) b.install();
}

function className(value: object): string {
  try {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === "string" ? ctor.name : "Object";
  } catch {
    return "Object";
  }
}

/** True for env values that are data (strings, numbers, JSON vars), not bindings. */
function isData(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return typeof value !== "function";
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/** The binding kind of an env value, or undefined for data. */
export function bindingKind(value: unknown): BindingKind | undefined {
  if (isData(value) || value === null || typeof value !== "object") return undefined;
  const name = className(value);
  return (
    BINDING_KINDS.find((k) => k.constructorNames.includes(name)) ??
    BINDING_KINDS.find((k) => k.matches?.(value))
  );
}

/** The binding kind with this name. */
export function bindingKindNamed(name: string): BindingKind | undefined {
  return BINDING_KINDS.find((k) => k.name === name);
}

/** One env entry as the trace keeps it: data, or a binding of a kind and class. */
type ShapeEntry = { kind: "value" } | { kind: string; className: string };

/** The env's names and what each one is, recorded once per execution. */
interface EnvShape {
  names: string[];
  entries: Record<string, ShapeEntry>;
}

function shapeOf(env: object): EnvShape {
  const names = Reflect.ownKeys(env).filter(
    (k): k is string => typeof k === "string" && !isFluxName(k),
  );
  const entries: Record<string, ShapeEntry> = {};
  for (const name of names) {
    const value = Reflect.get(env, name) as unknown;
    const kind = bindingKind(value);
    entries[name] = kind
      ? { kind: kind.name, className: className(value as object) }
      : { kind: "value" };
  }
  return { names, entries };
}

/** The env's shape for this execution: recorded the first time, served from the trace in replay. */
function envShape(session: Session, env: object): EnvShape | undefined {
  return session.memo("env.shape", () =>
    session.read<EnvShape | undefined>({
      kind: "env",
      op: "shape",
      target: "env",
      byTarget: true,
      quiet: true,
      live: () => shapeOf(env),
      // An old trace, or an execution that never touched env: the replay env as it is.
      fallback: () => undefined,
      revive: (d) => d as EnvShape,
    }),
  );
}

const wrappedEnvs = new WeakMap<object, object>();

/**
 * Wraps an env so every binding call and env read goes through the current session. Wrappers are
 * made once per env object and binding; they find the session at call time.
 */
export function wrapEnv<E extends object>(env: E): E {
  let wrapped = wrappedEnvs.get(env);
  if (wrapped) return wrapped as E;
  const bindings = new Map<string, { key: string; wrapper: object }>();

  const bindingWrapper = (prop: string, value: unknown, entry?: ShapeEntry): object | undefined => {
    const kind =
      entry && entry.kind !== "value" ? bindingKindNamed(entry.kind) : bindingKind(value);
    if (!kind) return undefined;
    const real = typeof value === "object" && value !== null && bindingKind(value) === kind;
    const key = real ? kind.name : `${kind.name}:${(entry as { className: string }).className}`;
    const memo = bindings.get(prop);
    if (memo?.key === key) return memo.wrapper;
    const wrapper = real
      ? kind.wrap(value as object, prop)
      : kind.wrap(
          // Stubs and unsupported kinds answer every name, so a call reaches the wrapper and is
          // refused as the recording's was recorded.
          standIn(
            (entry as { className: string }).className,
            kind.name === "service" || !kind.replayable,
          ),
          prop,
          { standIn: true },
        );
    bindings.set(prop, { key, wrapper });
    return wrapper;
  };

  const read = (target: E, prop: string): unknown => {
    const session = currentSession();
    const value = Reflect.get(target, prop) as unknown;
    if (!session) {
      if (isData(value)) return value;
      return bindingWrapper(prop, value) ?? value;
    }
    const shape = envShape(session, target);
    if (session.mode === "replay" && shape) {
      const entry = shape.entries[prop];
      if (!entry) return undefined;
      if (entry.kind === "value")
        return recordVarRead(session, prop, isData(value) ? value : undefined);
      return bindingWrapper(prop, value, entry);
    }
    if (value === undefined) return undefined;
    if (isData(value)) return recordVarRead(session, prop, value);
    return bindingWrapper(prop, value) ?? value;
  };

  const names = (target: E): string[] => {
    const session = currentSession();
    const shape = session?.mode === "replay" ? envShape(session, target) : undefined;
    if (shape) return shape.names;
    if (session) envShape(session, target);
    return Reflect.ownKeys(target).filter(
      (k): k is string => typeof k === "string" && !isFluxName(k),
    );
  };

  wrapped = new Proxy(env, {
    get(target, prop) {
      if (typeof prop !== "string") return Reflect.get(target, prop) as unknown;
      if (isFluxName(prop)) return undefined;
      return read(target, prop);
    },
    has(target, prop) {
      if (typeof prop !== "string") return Reflect.has(target, prop);
      if (isFluxName(prop)) return false;
      const session = currentSession();
      const shape = session?.mode === "replay" ? envShape(session, target) : undefined;
      return shape ? prop in shape.entries : Reflect.has(target, prop);
    },
    ownKeys(target) {
      const symbols = Reflect.ownKeys(target).filter((k) => typeof k === "symbol");
      return [...names(target), ...symbols];
    },
    getOwnPropertyDescriptor(target, prop) {
      if (typeof prop !== "string") return Reflect.getOwnPropertyDescriptor(target, prop);
      if (isFluxName(prop)) return undefined;
      const own = Reflect.getOwnPropertyDescriptor(target, prop);
      const session = currentSession();
      const shape = session?.mode === "replay" ? envShape(session, target) : undefined;
      if (shape ? !(prop in shape.entries) : !own) return undefined;
      if (own && !("value" in own)) return own;
      return {
        value: read(target, prop),
        writable: own?.writable ?? true,
        enumerable: own?.enumerable ?? true,
        configurable: own?.configurable ?? true,
      };
    },
  });
  wrappedEnvs.set(env, wrapped);
  return wrapped as E;
}
