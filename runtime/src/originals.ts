/**
 * The host's own clock, randomness, console and fetch, saved before any patch is installed.
 * FluxRun's own work goes through these so it never lands in a trace or consumes replay values.
 * @module
 */

const g = globalThis as unknown as {
  setTimeout: typeof globalThis.setTimeout;
  clearTimeout: typeof globalThis.clearTimeout;
  setInterval: typeof globalThis.setInterval;
  clearInterval: typeof globalThis.clearInterval;
  AbortSignal: typeof AbortSignal;
  Date: DateConstructor;
  Math: Math;
  crypto: Crypto;
  console: Console;
  fetch: typeof globalThis.fetch;
  performance?: Performance;
};

export const setTimeout: typeof globalThis.setTimeout = g.setTimeout.bind(g);
export const clearTimeout: typeof globalThis.clearTimeout = g.clearTimeout.bind(g);
export const setInterval: typeof globalThis.setInterval = g.setInterval.bind(g);
export const clearInterval: typeof globalThis.clearInterval = g.clearInterval.bind(g);
export const abortSignalTimeout: ((ms: number) => AbortSignal) | undefined =
  typeof g.AbortSignal?.timeout === "function"
    ? g.AbortSignal.timeout.bind(g.AbortSignal)
    : undefined;
export const OriginalDate: DateConstructor = g.Date;
export const now: () => number = g.Date.now.bind(g.Date);
export const perfNow: () => number = g.performance
  ? g.performance.now.bind(g.performance)
  : () => now();
export const mathRandom: () => number = g.Math.random.bind(g.Math);
export const getRandomValues = g.crypto.getRandomValues.bind(g.crypto) as <
  T extends ArrayBufferView | null,
>(
  array: T,
) => T;
export const randomUUID: () => string = g.crypto.randomUUID.bind(g.crypto);
export const fetch: typeof globalThis.fetch = g.fetch.bind(g);
export const consoleMethods = {
  log: g.console.log.bind(g.console),
  info: g.console.info.bind(g.console),
  warn: g.console.warn.bind(g.console),
  error: g.console.error.bind(g.console),
  debug: g.console.debug.bind(g.console),
};

/** Random bytes from the host, never recorded. */
export function randomBytes(length: number): Uint8Array {
  return getRandomValues(new Uint8Array(length));
}

/**
 * A 32-hex-character id: 12 hex digits of the start time in ms, then 80 random bits. Ids sort by
 * time, and a trace's storage prefix (app, day, hour) can be found from its id alone.
 */
export function newTraceId(at: number = now()): string {
  let out = Math.max(0, Math.floor(at)).toString(16).padStart(12, "0").slice(-12);
  for (const b of randomBytes(10)) out += b.toString(16).padStart(2, "0");
  return out;
}

/** The start time (ms) a trace id carries. */
export function traceIdTime(id: string): number {
  return Number.parseInt(id.slice(0, 12), 16);
}
