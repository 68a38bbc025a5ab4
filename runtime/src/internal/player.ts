/**
 * The player: the session of an execution being replayed. It serves every call from the trace and
 * never runs one live (a fetch the replay policy allows exactly is the one exception).
 *
 * Matching is by identity: a call is served by the first unused recorded event of the same kind,
 * operation and target whose request compares equal, whatever the order the code makes them in;
 * position decides only among identical requests. A call with no such event is blocked: it
 * rejects, or, for a write whose result carries nothing, it is not run and the app goes on. Only
 * at the end are blocked calls classified: paired in order with unserved recorded calls of the
 * same kind, operation and target they are `changed_request` (repeats of the same request are its
 * retries, one finding), unpaired they are `extra_call`; recorded calls never made are
 * `missing_call`.
 *
 * Time is the recording's: results resolve on a {@link VirtualClock} in recorded completion
 * order, and `reordered` is reported only for calls that were causally ordered when recording
 * (one finished before the other began), never for independent concurrent ones.
 * @module
 */
import { FluxError } from "../errors.js";
import type { Divergence } from "../contract/report.js";
import type { EventKind, TraceEvent } from "../trace/schema.js";
import { VirtualClock } from "./clock.js";
import { closestCandidate, describeCall } from "./describe.js";
import { diffMessages } from "./diff.js";
import {
  DEFAULT_LIMITS,
  runInSession,
  streamKey,
  type CallSpec,
  type CompareRules,
  type ReadSpec,
  type Session,
  type SessionLimits,
  type SyncCallSpec,
} from "./session.js";
import { isTruncatedDeep } from "./record-session.js";
import { changedFields, reviveError } from "./values.js";
import { readSite, type Frame, type RawSite } from "./site.js";

/** The call sites of a divergence: the recorded call's, and the replayed one's. */
function sites(
  recorded: Frame[] | undefined,
  replayed: RawSite | undefined,
): { site?: { recorded?: Frame[]; replayed?: Frame[] } } {
  const r = replayed ? readSite(replayed) : [];
  if (!recorded?.length && !r.length) return {};
  return {
    site: {
      ...(recorded?.length ? { recorded } : {}),
      ...(r.length ? { replayed: r } : {}),
    },
  };
}

interface Entry {
  event: TraceEvent;
  payload: unknown;
  used: boolean;
}

/** A call the trace could not serve: classified when the replay ends. */
interface Blocked {
  kind: EventKind;
  op: string;
  target: string;
  write: boolean;
  request: unknown;
  compare: (recorded: unknown, actual: unknown) => string[];
  /** Where replay stood in the recording when the call was made. */
  position: number;
  /** Where the replayed code made it. */
  site?: RawSite | undefined;
}

/** A replay's findings, as data. */
export interface ReplayFindings {
  live: { op: string; target: string }[];
  divergences: Divergence[];
  served: number[];
  unconsumed: number[];
  console: number;
}

/** Kinds whose recorded events are effects the replay must make (else `missing_call`). */
const EFFECT_KINDS: ReadonlySet<EventKind> = new Set([
  "fetch",
  "host",
  "binding",
  "cache",
  "storage",
  "incoming",
]);

type Payload = { request?: unknown; result?: unknown; error?: unknown } | undefined;

export class Player implements Session {
  readonly mode = "replay" as const;
  readonly sampled = true;
  readonly unreadBodies = "keep" as const;
  readonly limits: SessionLimits;
  readonly env: Record<string, unknown>;
  readonly maskHeaders: ReadonlySet<string>;
  readonly rules: CompareRules | undefined;
  readonly clock = new VirtualClock();
  readonly #allowLive: (request: unknown) => boolean;
  readonly #entries: Entry[];
  readonly #streams = new Map<string, Entry[]>();
  /** Per event: how many calls had completed when it completed (for causality). */
  readonly #completedBefore = new Map<number, number>();
  readonly #divergences: { d: Divergence; pos: number }[] = [];
  readonly #blocked: Blocked[] = [];
  readonly #reorders: { entry: Entry; before: Entry }[] = [];
  readonly #served: number[] = [];
  readonly #live: { op: string; target: string }[] = [];
  readonly #memo = new Map<string, unknown>();
  #pending: Promise<unknown>[] = [];
  #lastServed = -1;
  #console = 0;

  constructor(options: {
    events: readonly TraceEvent[];
    payloads: readonly unknown[];
    env?: Record<string, unknown>;
    maskHeaders?: ReadonlySet<string>;
    rules?: CompareRules;
    /** True for a fetch the replay policy lets through live. */
    allowLive?: (request: unknown) => boolean;
  }) {
    this.limits = DEFAULT_LIMITS;
    this.env = options.env ?? {};
    this.maskHeaders = options.maskHeaders ?? new Set();
    this.rules = options.rules;
    this.#allowLive = options.allowLive ?? (() => false);
    this.#entries = options.events.map((event, i) => ({
      event,
      payload: options.payloads[i],
      used: false,
    }));
    for (const e of this.#entries) {
      if (e.event.parent !== undefined) continue;
      const key = streamKey(e.event.kind, e.event.op, e.event.target);
      let list = this.#streams.get(key);
      if (!list) this.#streams.set(key, (list = []));
      list.push(e);
    }
    // Rank calls by completion tick: a call completed before another started when the pushes
    // before its completion (tick less completions so far) are at most the other's seq.
    const completed = options.events
      .filter((e) => e.end !== undefined)
      .sort((a, b) => a.end! - b.end!);
    completed.forEach((e, rank) => this.#completedBefore.set(e.seq, e.end! - (rank + 1)));
  }

  elapsed(): number {
    return this.clock.now;
  }

  track(p: Promise<unknown>): void {
    this.#pending.push(p.catch(() => {}));
  }

  async settle(): Promise<void> {
    while (this.#pending.length) {
      const batch = this.#pending;
      this.#pending = [];
      await Promise.all(batch);
    }
  }

  memo<T>(key: string, make: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = make();
    this.#memo.set(key, value);
    return value;
  }

  // ---------------------------------------------------------------- serving

  /** The first unused recorded event of the call's stream whose request compares equal. */
  #match(spec: Pick<CallSpec<unknown>, "kind" | "op" | "target" | "request" | "compare">) {
    const compare = spec.compare ?? changedFields;
    return this.#streams
      .get(streamKey(spec.kind, spec.op, spec.target))
      ?.find((e) => !e.used && compare((e.payload as Payload)?.request, spec.request).length === 0);
  }

  #use(entry: Entry): void {
    entry.used = true;
    this.#served.push(entry.event.seq);
    this.#lastServed = Math.max(this.#lastServed, entry.event.seq);
  }

  /** Records a call the trace lacks; the caller rejects it or hands back `blocked()`. */
  #block(
    spec: Omit<Blocked, "position" | "compare" | "write"> & {
      write?: boolean;
      compare?: Blocked["compare"];
    },
  ): void {
    this.#blocked.push({
      kind: spec.kind,
      op: spec.op,
      target: spec.target,
      request: spec.request,
      site: spec.site,
      write: spec.write === true,
      compare: spec.compare ?? changedFields,
      position: this.#lastServed + 0.5,
    });
  }

  #diverge(d: Divergence, pos: number): void {
    this.#divergences.push({ d, pos });
  }

  /**
   * Checks a matched entry can be served (not cut by the budget, no value the trace cannot hold)
   * and gives its recorded outcome. Throws the FluxError replay answers with otherwise.
   */
  #serveable(entry: Entry, spec: { kind: EventKind; op: string; target: string }): Payload {
    const recorded = entry.payload as Payload;
    const unencodable = entry.event.info?.unencodable;
    if (unencodable !== undefined) {
      this.#diverge(
        {
          code: "unsupported",
          seq: entry.event.seq,
          kind: spec.kind,
          op: spec.op,
          target: spec.target,
          message: `${spec.op} ${spec.target} passed a value the trace cannot hold (${String(unencodable)})`,
        },
        entry.event.seq,
      );
      throw new FluxError(
        "ERR_REPLAY_UNSUPPORTED",
        `Replay cannot serve ${spec.op} ${spec.target}: its recording holds a ${String(unencodable)}`,
      );
    }
    if (entry.event.truncated || isTruncatedDeep(recorded?.result)) {
      this.#diverge(
        {
          code: "truncated",
          seq: entry.event.seq,
          kind: spec.kind,
          op: spec.op,
          target: spec.target,
          message: `The recorded result of ${spec.op} ${spec.target} was cut by the size budget`,
        },
        entry.event.seq,
      );
      throw new FluxError(
        "ERR_REPLAY_TRUNCATED",
        `Replay cannot serve ${spec.op} ${spec.target}: its recording was truncated`,
      );
    }
    return recorded;
  }

  #unrecorded(spec: { op: string; target: string }): FluxError {
    return new FluxError(
      "ERR_REPLAY_UNRECORDED",
      `Replay blocked ${spec.op} ${spec.target}: the trace holds no such call, so it was not made live`,
    );
  }

  call<T>(spec: CallSpec<T>): Promise<T> {
    const entry = this.#match(spec);
    if (!entry) {
      if (spec.kind === "fetch" && this.#allowLive(spec.request)) {
        this.#live.push({ op: spec.op, target: spec.target });
        return spec.live();
      }
      this.#block(spec);
      if (spec.blocked) return Promise.resolve(spec.blocked());
      return Promise.reject(this.#unrecorded(spec));
    }
    this.#use(entry);
    this.#checkOrder(entry);
    let recorded: Payload;
    try {
      recorded = this.#serveable(entry, spec);
    } catch (err) {
      return Promise.reject(err);
    }
    const { event } = entry;
    return new Promise<T>((resolve, reject) => {
      this.clock.at(event.at + (event.dur ?? 0), event.end ?? event.seq, () => {
        if (recorded && "error" in recorded && recorded.error) {
          reject(reviveError(recorded.error as Parameters<typeof reviveError>[0]));
          return;
        }
        const unread = () =>
          this.#diverge(
            {
              code: "unread_body",
              seq: event.seq,
              kind: spec.kind,
              op: spec.op,
              target: spec.target,
              message: `The replay read the body of ${spec.op} ${spec.target}, which the recorded execution never read (it was not kept)`,
            },
            event.seq,
          );
        try {
          resolve(spec.revive(recorded?.result, unread));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  callSync<T>(spec: SyncCallSpec<T>): T {
    const entry = this.#match(spec);
    if (!entry) {
      this.#block(spec);
      if (spec.blocked) return spec.blocked();
      throw this.#unrecorded(spec);
    }
    this.#use(entry);
    const recorded = this.#serveable(entry, spec);
    if (recorded && "error" in recorded && recorded.error) {
      throw reviveError(recorded.error as Parameters<typeof reviveError>[0]);
    }
    return recorded?.result as T;
  }

  read<T>(spec: ReadSpec<T>): T {
    const list = this.#streams.get(streamKey(spec.kind, spec.op, spec.target));
    const entry = spec.byTarget ? list?.[0] : list?.find((e) => !e.used);
    if (entry) {
      if (!entry.used) this.#use(entry);
      return spec.revive(entry.payload);
    }
    if (spec.fallback && spec.quiet) return spec.fallback();
    const at = this.#lastServed + 0.5;
    if (spec.fallback) {
      this.#diverge(
        {
          code: "extra_call",
          seq: null,
          kind: spec.kind,
          op: spec.op,
          target: spec.target,
          message: spec.byTarget
            ? `${spec.kind} ${spec.target} was not read in the recording; the replay's own value was served`
            : `${spec.kind} ${spec.op} was read more often than recorded; a fixed value was served`,
        },
        at,
      );
      return spec.fallback();
    }
    this.#diverge(
      {
        code: "extra_call",
        seq: null,
        kind: spec.kind,
        op: spec.op,
        target: spec.target,
        message: `${spec.kind} ${spec.target} was not read in the recording`,
      },
      at,
    );
    throw new FluxError(
      "ERR_REPLAY_UNRECORDED",
      `Replay has no recorded ${spec.kind} read of ${spec.target}`,
    );
  }

  note(kind: EventKind, op: string, target: string): void {
    if (kind === "unsupported") {
      this.#diverge(
        {
          code: "unsupported",
          seq: null,
          kind,
          op,
          target,
          message: `${op} on ${target} cannot be replayed`,
        },
        this.#lastServed + 0.5,
      );
      throw new FluxError(
        "ERR_REPLAY_UNSUPPORTED",
        `Replay refused ${op} on ${target}: FluxRun cannot serve it`,
      );
    }
    if (kind === "console") this.#console++;
    const entry = this.#streams.get(streamKey(kind, op, target))?.find((e) => !e.used);
    if (entry) this.#use(entry);
  }

  /** Runs `fn` later on the virtual clock, inside this session (replayed timers). */
  timer(ms: number, fn: () => void): number {
    return this.clock.after(ms, () => runInSession(this, fn));
  }

  // ---------------------------------------------------------------- findings

  /** True when `a` finished before `b` began, in the recording. */
  #causal(a: TraceEvent, b: TraceEvent): boolean {
    const before = this.#completedBefore.get(a.seq);
    if (before !== undefined && b.end !== undefined) return before <= b.seq;
    // Traces without completion ticks: wall-clock times.
    return a.at + (a.dur ?? 0) <= b.at;
  }

  /** Notes an effect served while one that finished before it began, in the recording, waits. */
  #checkOrder(entry: Entry): void {
    for (const other of this.#entries) {
      if (other.event.seq >= entry.event.seq) break;
      const o = other.event;
      if (
        !other.used &&
        o.parent === undefined &&
        EFFECT_KINDS.has(o.kind) &&
        this.#causal(o, entry.event)
      ) {
        this.#reorders.push({ entry, before: other });
        return;
      }
    }
  }

  /**
   * Ends a replay: blocked calls are paired with unserved recorded calls of their stream
   * (`changed_request`, its retries counted) or are `extra_call`; unserved recorded effects are
   * `missing_call`; reorders of causally ordered calls are reported. First causes lead.
   */
  findings(): ReplayFindings {
    const unserved = this.#entries.filter(
      (e) =>
        !e.used &&
        e.event.parent === undefined &&
        e.event.kind !== "request" &&
        e.event.kind !== "response" &&
        e.event.kind !== "exception",
    );
    const open = unserved.filter((e) => EFFECT_KINDS.has(e.event.kind));
    const paired = new Set<Entry>();
    const findings: { blocked: Blocked; d: Divergence }[] = [];
    for (const b of this.#blocked) {
      const same = findings.find(
        (f) =>
          f.blocked.kind === b.kind &&
          f.blocked.op === b.op &&
          f.blocked.target === b.target &&
          f.blocked.compare(f.blocked.request, b.request).length === 0,
      );
      if (same) {
        same.d.count = (same.d.count ?? 1) + 1;
        continue;
      }
      const actual = describeCall(b.kind, b.op, b.target, b.request);
      const counterpart = open.find(
        (e) =>
          !paired.has(e) &&
          e.event.kind === b.kind &&
          e.event.op === b.op &&
          e.event.target === b.target,
      );
      if (counterpart) {
        paired.add(counterpart);
        const recorded = (counterpart.payload as Payload)?.request;
        const fields = b.compare(recorded, b.request);
        const d: Divergence = {
          code: "changed_request",
          seq: counterpart.event.seq,
          kind: b.kind,
          op: b.op,
          target: b.target,
          message: `${b.op} ${b.target} was made with a different ${fields.join(", ")}`,
          fields,
          expected: describeCall(b.kind, b.op, b.target, recorded),
          actual,
          diff: diffMessages(recorded, b.request),
          ...sites(counterpart.event.site, b.site),
        };
        findings.push({ blocked: b, d });
        this.#diverge(d, counterpart.event.seq);
        continue;
      }
      const d: Divergence = {
        code: "extra_call",
        seq: null,
        kind: b.kind,
        op: b.op,
        target: b.target,
        message: `${b.write ? "Unrecorded write" : "Unrecorded call"} ${b.op} ${b.target} was blocked`,
        actual,
        closest: closestCandidate(this.#entries, b.kind, b.op, b.target),
        ...sites(undefined, b.site),
      };
      findings.push({ blocked: b, d });
      this.#diverge(d, b.position);
    }
    for (const e of open) {
      if (paired.has(e)) continue;
      this.#diverge(
        {
          code: "missing_call",
          seq: e.event.seq,
          kind: e.event.kind,
          op: e.event.op,
          target: e.event.target,
          message: `Recorded ${e.event.op} ${e.event.target} (event ${e.event.seq}) was not made in replay`,
          expected: describeCall(
            e.event.kind,
            e.event.op,
            e.event.target,
            (e.payload as Payload)?.request,
          ),
          ...sites(e.event.site, undefined),
        },
        e.event.seq,
      );
    }
    // A skipped effect that is made later is a reorder; one never made is a missing call.
    for (const { entry, before } of this.#reorders) {
      if (!before.used) continue;
      const e = entry.event;
      const o = before.event;
      this.#diverge(
        {
          code: "reordered",
          seq: e.seq,
          kind: e.kind,
          op: e.op,
          target: e.target,
          message: `${e.op} ${e.target} ran before ${o.op} ${o.target} (event ${o.seq}), which had finished before it began in the recording`,
          expected: { after: o.seq },
          actual: { before: o.seq },
        },
        e.seq,
      );
    }
    const divergences = this.#divergences
      .map((x, i) => ({ ...x, i }))
      .sort((a, b) => a.pos - b.pos || a.i - b.i)
      .map((x) => x.d);
    return {
      divergences,
      served: [...this.#served],
      unconsumed: unserved.map((e) => e.event.seq),
      live: [...this.#live],
      console: this.#console,
    };
  }
}
