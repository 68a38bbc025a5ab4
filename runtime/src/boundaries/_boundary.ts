/**
 * The two contracts every boundary module implements. Shared code asks the module; it never
 * switches on a kind's name.
 * @module
 */

/** A boundary that patches a global (fetch, Date, crypto, console). */
export interface GlobalBoundary {
  readonly name: string;
  /** Installs the patch once; patched functions defer to the current session, if any. */
  install(): void;
}

/** A boundary that wraps an env binding (KV, R2, D1, Queue, service, unsupported). */
export interface BindingBoundary {
  readonly name: string;
  /** True when `value` is a binding of this kind. */
  matches(value: object): boolean;
  /** A wrapper that records/replays every call and keeps `this` on the real binding. */
  wrap(binding: object, bindingName: string): object;
}
