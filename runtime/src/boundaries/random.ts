/**
 * Randomness: `Math.random()`, `crypto.getRandomValues()` and `crypto.randomUUID()`.
 * @module
 */
import { currentSession } from "../internal/session.js";
import { getRandomValues, mathRandom, randomUUID } from "../originals.js";
import { toBytes } from "../internal/values.js";
import type { GlobalBoundary } from "./_boundary.js";

/** A fixed sequence for reads past the recording: deterministic, never live. */
let fallbackState = 0x9e3779b9;
function fallbackRandom(): number {
  fallbackState = (fallbackState + 0x6d2b79f5) | 0;
  let t = fallbackState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function fluxMathRandom(): number {
  const session = currentSession();
  if (!session) return mathRandom();
  return session.read({
    kind: "random",
    op: "math",
    target: "Math.random",
    live: mathRandom,
    revive: (d) => d as number,
    fallback: fallbackRandom,
  });
}

function fluxGetRandomValues<T extends ArrayBufferView | null>(array: T): T {
  const session = currentSession();
  if (!session || array === null) return getRandomValues(array);
  const view = toBytes(array);
  session.read({
    kind: "random",
    op: "bytes",
    target: `getRandomValues(${view.byteLength})`,
    live: () => {
      getRandomValues(array);
      return view.slice();
    },
    revive: (d) => {
      view.set(d as Uint8Array);
      return view;
    },
    fallback: () => {
      for (let i = 0; i < view.length; i++) view[i] = Math.floor(fallbackRandom() * 256);
      return view;
    },
  });
  return array;
}

function fluxRandomUUID(): `${string}-${string}-${string}-${string}-${string}` {
  const session = currentSession();
  if (!session) return randomUUID() as ReturnType<typeof fluxRandomUUID>;
  return session.read({
    kind: "random",
    op: "uuid",
    target: "randomUUID",
    live: randomUUID,
    revive: (d) => d as string,
    fallback: () => {
      const hex = Array.from({ length: 32 }, () =>
        Math.floor(fallbackRandom() * 16).toString(16),
      ).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    },
  }) as ReturnType<typeof fluxRandomUUID>;
}

function define(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, configurable: true, writable: true });
}

export const randomBoundary: GlobalBoundary = {
  name: "random",
  install() {
    define(Math, "random", fluxMathRandom);
    define(
      (globalThis as unknown as { crypto: Crypto }).crypto,
      "getRandomValues",
      fluxGetRandomValues,
    );
    define((globalThis as unknown as { crypto: Crypto }).crypto, "randomUUID", fluxRandomUUID);
  },
};
