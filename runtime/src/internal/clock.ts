/**
 * The replay's virtual clock. Served results do not resolve at once: each waits for its recorded
 * completion, and the clock runs them one at a time, in recorded completion order, each in its
 * own macrotask, so the app's continuation after one await (and every read it makes there) runs
 * before the next result arrives, as it did when recording. Timers the app sets in replay
 * (`setTimeout`, `AbortSignal.timeout`, `scheduler.wait`) run on the same clock, so races between
 * a call and a timer end as recorded. Time is microseconds since the execution started.
 * @module
 */
import { setTimeout as hostSetTimeout } from "../originals.js";

interface Scheduled {
  /** Virtual time it is due, in microseconds. */
  due: number;
  /** Order among items due at the same time: recorded completion order, then creation. */
  order: number;
  seq: number;
  run: () => void;
}

/** Items with no recorded order (timers) run after recorded completions due at the same time. */
const TIMER_ORDER = Number.MAX_SAFE_INTEGER;

export class VirtualClock {
  #now = 0;
  #queue: Scheduled[] = [];
  #seq = 0;
  #kicked = false;
  #cancelled = new Set<number>();

  /** Virtual microseconds since the execution started. */
  get now(): number {
    return this.#now;
  }

  /**
   * Runs `run` when the clock reaches `due` (never earlier than now), after everything due
   * before it and, at the same time, after what has a lower `order`. Returns an id for
   * {@link cancel}.
   */
  at(due: number, order: number, run: () => void): number {
    const seq = ++this.#seq;
    this.#queue.push({ due: Math.max(due, this.#now), order, seq, run });
    this.#kick();
    return seq;
  }

  /** A timer `ms` milliseconds from now. */
  after(ms: number, run: () => void): number {
    const delay = Number.isFinite(ms) && ms > 0 ? ms * 1000 : 0;
    return this.at(this.#now + delay, TIMER_ORDER, run);
  }

  cancel(id: number): void {
    this.#cancelled.add(id);
  }

  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    // A macrotask: the app's microtasks (its continuation after the last result) run first.
    hostSetTimeout(() => this.#step(), 0);
  }

  #step(): void {
    this.#kicked = false;
    let best = -1;
    for (let i = 0; i < this.#queue.length; i++) {
      const a = this.#queue[i]!;
      const b = best < 0 ? undefined : this.#queue[best]!;
      if (
        !b ||
        a.due < b.due ||
        (a.due === b.due && (a.order < b.order || (a.order === b.order && a.seq < b.seq)))
      ) {
        best = i;
      }
    }
    if (best < 0) return;
    const [item] = this.#queue.splice(best, 1);
    if (this.#queue.length) this.#kick();
    if (!item || this.#cancelled.delete(item.seq)) return;
    this.#now = Math.max(this.#now, item.due);
    item.run();
  }
}
