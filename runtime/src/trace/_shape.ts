/**
 * Tiny structural checks for the few decoded values a deployed worker validates itself (a replay
 * envelope, the payloads it revives, a replay authorization's claims), so the worker bundle
 * carries no schema library. Semantics follow the zod schemas they mirror: unknown keys of an
 * object are dropped (of a strict object, refused), defaults fill absent keys, the first issue
 * stops the check. `shape.test.ts` runs each shape and its zod schema over the same inputs.
 * @module
 */

/** A check: returns the accepted (copied) value, or throws {@link ShapeIssue}. */
export type Shape<T> = (value: unknown, path: string) => T;

/** The first issue a shape found, with its dotted path. */
export class ShapeIssue extends Error {
  constructor(readonly path: string) {
    super(`does not match at ${path || "root"}`);
  }
}

const fail = (path: string): never => {
  throw new ShapeIssue(path);
};

const at = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** A string of at most `max` UTF-16 units (and at least `min`), matching `pattern` if given. */
export function str(max = Infinity, min = 0, pattern?: RegExp): Shape<string> {
  return (v, p) =>
    typeof v === "string" && v.length <= max && v.length >= min && (!pattern || pattern.test(v))
      ? v
      : fail(p);
}

/** A safe integer, at least `min`. */
export function int(min = -Infinity): Shape<number> {
  return (v, p) => (Number.isSafeInteger(v) && (v as number) >= min ? (v as number) : fail(p));
}

/** A finite number (zod's `z.number()` refuses NaN and infinities). */
export const num: Shape<number> = (v, p) =>
  typeof v === "number" && Number.isFinite(v) ? v : fail(p);

export const bool: Shape<boolean> = (v, p) => (typeof v === "boolean" ? v : fail(p));

export const bytes: Shape<Uint8Array> = (v, p) => (v instanceof Uint8Array ? v : fail(p));

export const unknown: Shape<unknown> = (v) => v;

/** One of the given literal values. */
export function oneOf<const T extends readonly (string | number | boolean | null)[]>(
  values: T,
): Shape<T[number]> {
  return (v, p) => (values.includes(v as T[number]) ? (v as T[number]) : fail(p));
}

/** The first alternative that accepts the value. */
export function union<T>(...shapes: Shape<T>[]): Shape<T> {
  return (v, p) => {
    for (const s of shapes) {
      try {
        return s(v, p);
      } catch (e) {
        if (!(e instanceof ShapeIssue)) throw e;
      }
    }
    return fail(p);
  };
}

/** An array of `item`, at most `max` long. */
export function arr<T>(item: Shape<T>, max = Infinity): Shape<T[]> {
  return (v, p) => {
    if (!Array.isArray(v) || v.length > max) return fail(p);
    const out = new Array<T>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = item(v[i], at(p, i));
    return out;
  };
}

/** A fixed-length array of the given shapes. */
export function tuple<T extends unknown[]>(...items: { [K in keyof T]: Shape<T[K]> }): Shape<T> {
  return (v, p) => {
    if (!Array.isArray(v) || v.length !== items.length) return fail(p);
    return items.map((s, i) => s(v[i], at(p, i))) as T;
  };
}

/** A record with string keys and `value` values. */
export function record<T>(value: Shape<T>): Shape<Record<string, T>> {
  return (v, p) => {
    if (!isRecord(v)) return fail(p);
    const out: Record<string, T> = {};
    for (const k of Object.keys(v)) out[k] = value(v[k], at(p, k));
    return out;
  };
}

/** Marks an object field optional: absent or undefined stays absent. */
export interface Optional<T> {
  readonly optional: Shape<T>;
}
/** Marks an object field defaulted: absent or undefined takes `fallback()`. */
export interface Defaulted<T> {
  readonly shape: Shape<T>;
  readonly fallback: () => T;
}

export const opt = <T>(shape: Shape<T>): Optional<T> => ({ optional: shape });
export const withDefault = <T>(shape: Shape<T>, fallback: () => T): Defaulted<T> => ({
  shape,
  fallback,
});

type Field = Shape<unknown> | Optional<unknown> | Defaulted<unknown>;
type Out<F> =
  F extends Shape<infer T>
    ? T
    : F extends Optional<infer T>
      ? T
      : F extends Defaulted<infer T>
        ? T
        : never;
type OptionalKeys<S> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S];
type Obj<S> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Out<S[K]> } & {
  [K in OptionalKeys<S>]?: Out<S[K]>;
};

/**
 * An object with the given fields, unknown keys dropped (`strict`: refused).
 *
 * @example
 * ```ts
 * const Point = obj({ x: int(), y: int(), label: opt(str(64)) });
 * const p = Point(decoded, "");
 * ```
 */
export function obj<S extends Record<string, Field>>(
  fields: S,
  options: { strict?: boolean } = {},
): Shape<Obj<S>> {
  const entries = Object.entries(fields);
  return (v, p) => {
    if (!isRecord(v)) return fail(p);
    if (options.strict) for (const k of Object.keys(v)) if (!(k in fields)) fail(at(p, k));
    const out: Record<string, unknown> = {};
    for (const [k, f] of entries) {
      const x = v[k];
      if (typeof f === "function") out[k] = f(x, at(p, k));
      else if ("optional" in f) {
        if (x !== undefined) out[k] = f.optional(x, at(p, k));
      } else out[k] = x === undefined ? f.fallback() : f.shape(x, at(p, k));
    }
    return out as Obj<S>;
  };
}

/** Runs `shape`, answering `{ success, data }` or `{ success: false, path }` like zod's safeParse. */
export function check<T>(
  shape: Shape<T>,
  value: unknown,
): { success: true; data: T } | { success: false; path: string } {
  try {
    return { success: true, data: shape(value, "") };
  } catch (e) {
    if (e instanceof ShapeIssue) return { success: false, path: e.path || "root" };
    throw e;
  }
}
