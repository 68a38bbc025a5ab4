/**
 * Timers in replay: `setTimeout`, `setInterval`, `AbortSignal.timeout` and `scheduler.wait` run
 * on the replay's virtual clock, the one recorded results resolve on, so a race between a call and
 * a timer (or a timeout that fired) ends as it did when recording. Outside a replay they are the
 * host's own, untouched.
 * @module
 */
import { currentSession, runInSession, type Session } from "../internal/session.js";
import {
  abortSignalTimeout,
  clearInterval as hostClearInterval,
  clearTimeout as hostClearTimeout,
  setInterval as hostSetInterval,
  setTimeout as hostSetTimeout,
} from "../originals.js";
import type { GlobalBoundary } from "./_boundary.js";

type Callback = (...args: unknown[]) => void;

/** Ids of virtual timers start here, far from the host's, so clearTimeout can tell them apart. */
const VIRTUAL_BASE = 2 ** 40;
let nextId = VIRTUAL_BASE;
/** Virtual timer id → the clock entry it is waiting on, and the session's clock. */
const virtual = new Map<number, { clock: NonNullable<Session["clock"]>; entry: number }>();

function replaying(): (Session & { clock: NonNullable<Session["clock"]> }) | undefined {
  const session = currentSession();
  return session?.clock
    ? (session as Session & { clock: NonNullable<Session["clock"]> })
    : undefined;
}

function schedule(
  session: Session & { clock: NonNullable<Session["clock"]> },
  id: number,
  ms: number,
  run: () => void,
): void {
  const entry = session.clock.after(ms, () => {
    if (virtual.has(id)) runInSession(session, run);
  });
  virtual.set(id, { clock: session.clock, entry });
}

function fluxSetTimeout(fn: Callback | string, ms?: number, ...args: unknown[]): number {
  const session = replaying();
  if (!session || typeof fn !== "function") {
    return hostSetTimeout(fn as Callback, ms, ...args) as unknown as number;
  }
  const id = ++nextId;
  schedule(session, id, ms ?? 0, () => {
    virtual.delete(id);
    fn(...args);
  });
  return id;
}

function fluxSetInterval(fn: Callback | string, ms?: number, ...args: unknown[]): number {
  const session = replaying();
  if (!session || typeof fn !== "function") {
    return hostSetInterval(fn as Callback, ms, ...args) as unknown as number;
  }
  const id = ++nextId;
  const tick = () => {
    schedule(session, id, ms ?? 0, tick);
    fn(...args);
  };
  schedule(session, id, ms ?? 0, tick);
  return id;
}

function fluxClear(id: unknown, host: (id: never) => void): void {
  const v = typeof id === "number" ? virtual.get(id) : undefined;
  if (!v) {
    host(id as never);
    return;
  }
  virtual.delete(id as number);
  v.clock.cancel(v.entry);
}

function fluxAbortTimeout(ms: number): AbortSignal {
  const session = replaying();
  if (!session && abortSignalTimeout) return abortSignalTimeout(ms);
  const controller = new AbortController();
  if (session) {
    schedule(session, ++nextId, ms, () =>
      controller.abort(
        new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      ),
    );
  }
  return controller.signal;
}

/** Gives `fn` the host function's own extras (Node's `util.promisify.custom`, `__promisify__`). */
function like<F extends object>(fn: F, host: object): F {
  for (const key of Reflect.ownKeys(host)) {
    if (key === "name" || key === "length" || key === "prototype") continue;
    const d = Object.getOwnPropertyDescriptor(host, key);
    if (d) Object.defineProperty(fn, key, d);
  }
  return fn;
}

export const timersBoundary: GlobalBoundary = {
  name: "timers",
  install() {
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = like(fluxSetTimeout, g.setTimeout as object);
    g.setInterval = like(fluxSetInterval, g.setInterval as object);
    g.clearTimeout = (id: unknown) => fluxClear(id, hostClearTimeout as (id: never) => void);
    g.clearInterval = (id: unknown) => fluxClear(id, hostClearInterval as (id: never) => void);
    try {
      Object.defineProperty(AbortSignal, "timeout", {
        configurable: true,
        writable: true,
        value: fluxAbortTimeout,
      });
    } catch {
      // frozen on this host
    }
    const scheduler = g.scheduler as { wait?: (ms: number) => Promise<void> } | undefined;
    const wait = scheduler?.wait;
    if (scheduler && typeof wait === "function") {
      try {
        Object.defineProperty(scheduler, "wait", {
          configurable: true,
          writable: true,
          value: (ms: number) => {
            const session = replaying();
            if (!session) return Reflect.apply(wait, scheduler, [ms]) as Promise<void>;
            return new Promise<void>((resolve) => schedule(session, ++nextId, ms, resolve));
          },
        });
      } catch {
        // frozen on this host
      }
    }
  },
};
