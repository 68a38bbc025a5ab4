/**
 * The HTTP sink's queue: bounded memory, one entry per trace id (a write of an id already queued
 * or delivered is not sent again), batches cut by count and bytes, and each write's promise
 * settled when its trace is delivered, refused or given up on.
 * @module
 */
import type { FluxError } from "../../errors.js";
import type { SealedTrace } from "../_sink.js";

/** Trace ids remembered after delivery, so a late repeat is not sent again. */
const REMEMBERED_IDS = 4096;

/** A queued trace and the promise its `write` returned. */
export interface Entry {
  readonly trace: SealedTrace;
  readonly id: string;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: FluxError): void;
}

/** What {@link TraceQueue.add} did with a trace. */
export type Admission = "queued" | "skipped" | "full";

export class TraceQueue {
  readonly #entries: Entry[] = [];
  readonly #pending = new Map<string, Entry>();
  readonly #delivered = new Set<string>();
  readonly #maxQueue: number;

  constructor(options: { maxQueue: number }) {
    this.#maxQueue = options.maxQueue;
  }

  /** Traces held at most. */
  get capacity(): number {
    return this.#maxQueue;
  }

  /** Traces not settled yet (waiting or in flight). */
  get unsettled(): number {
    return this.#pending.size;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Remembers an id delivered some other way (from the spool), so it is not sent again. */
  delivered(id: string): void {
    this.#delivered.add(id);
    if (this.#delivered.size > REMEMBERED_IDS) {
      const oldest = this.#delivered.values().next();
      if (!oldest.done) this.#delivered.delete(oldest.value);
    }
  }

  /** Queues a trace unless its id is queued or delivered already, or the queue is full. */
  add(trace: SealedTrace): { admission: Admission; done?: Promise<void>; entry?: Entry } {
    const id = trace.summary.traceId;
    const queued = this.#pending.get(id);
    if (queued) return { admission: "skipped", done: queued.done };
    if (this.#delivered.has(id)) return { admission: "skipped", done: Promise.resolve() };
    if (this.#entries.length >= this.#maxQueue) return { admission: "full" };
    let resolve!: () => void;
    let reject!: (err: FluxError) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry = { trace, id, done, resolve, reject };
    this.#entries.push(entry);
    this.#pending.set(id, entry);
    return { admission: "queued", done, entry };
  }

  /** The oldest entries: at most `size`, and over `maxBytes` only when one trace alone is. */
  peek(options: { size: number; maxBytes: number }): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    for (const entry of this.#entries) {
      if (batch.length === options.size) break;
      if (batch.length > 0 && bytes + entry.trace.bytes.length > options.maxBytes) break;
      batch.push(entry);
      bytes += entry.trace.bytes.length;
    }
    return batch;
  }

  /** Removes the `count` oldest entries (a batch that was sent or given up on). */
  shift(count: number): void {
    this.#entries.splice(0, count);
  }

  /** True while the entry has not been settled yet. */
  isPending(entry: Entry): boolean {
    return this.#pending.get(entry.id) === entry;
  }

  /**
   * Settles an entry: delivered (its id is remembered), kept elsewhere (`kept`: resolved, the id
   * not remembered) or failed with `err`.
   */
  settle(entry: Entry, err?: FluxError | "kept"): void {
    this.#pending.delete(entry.id);
    if (err === "kept") {
      entry.resolve();
      return;
    }
    if (err) {
      entry.reject(err);
      return;
    }
    this.delivered(entry.id);
    entry.resolve();
  }
}
