/**
 * Time: `Date.now()`, `new Date()`, `Date()` and `performance.now()`. Date is replaced by a Proxy
 * (workerd refuses a subclass); `instanceof Date` and subclasses keep working.
 * @module
 */
import { currentSession, type Session } from "../internal/session.js";
import { OriginalDate, now, perfNow } from "../originals.js";
import type { GlobalBoundary } from "./_boundary.js";

let lastNow = 0;
let lastPerf = 0;

function readNow(session: Session): number {
  return session.read({
    kind: "clock",
    op: "now",
    target: "Date",
    live: now,
    revive: (d) => (lastNow = d as number),
    fallback: () => lastNow,
  });
}

function fluxNow(): number {
  const session = currentSession();
  return session ? readNow(session) : now();
}

function fluxPerfNow(): number {
  const session = currentSession();
  if (!session) return perfNow();
  return session.read({
    kind: "clock",
    op: "perf",
    target: "performance",
    live: perfNow,
    revive: (d) => (lastPerf = d as number),
    fallback: () => lastPerf,
  });
}

const FluxDate: DateConstructor = new Proxy(OriginalDate, {
  construct(target, args, newTarget) {
    const ctorTarget = newTarget === FluxDate ? target : newTarget;
    const session = args.length === 0 ? currentSession() : undefined;
    return Reflect.construct(target, session ? [readNow(session)] : args, ctorTarget) as object;
  },
  apply(target) {
    const session = currentSession();
    return session ? new target(readNow(session)).toString() : target();
  },
  get(target, prop) {
    if (prop === "now") return fluxNow;
    return Reflect.get(target, prop) as unknown;
  },
});

export const clockBoundary: GlobalBoundary = {
  name: "clock",
  install() {
    globalThis.Date = FluxDate;
    const perf = (globalThis as { performance?: Performance }).performance;
    if (perf) {
      try {
        Object.defineProperty(perf, "now", {
          value: fluxPerfNow,
          configurable: true,
          writable: true,
        });
      } catch {
        // a host with a frozen performance object keeps its own clock; Date still covers time
      }
    }
  },
};
