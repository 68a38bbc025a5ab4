/**
 * The summary facts that follow from a trace's events alone: how many events of each kind, and
 * the outbound fetches (host, method, status; the first {@link MAX_SUMMARY_FETCHES}). The recorder
 * computes them for the summary; a version 3 head leaves them out when they equal what this gives,
 * and its reader computes them back.
 * @module
 */
import type { TraceEvent, TraceSummary } from "./schema.js";

/** Fetches a summary lists at most. */
export const MAX_SUMMARY_FETCHES = 32;

/** Event counts by kind and the fetches of a list of events. */
export function eventFacts(
  events: readonly Pick<TraceEvent, "kind" | "op" | "target" | "status">[],
): Pick<TraceSummary, "eventCounts" | "fetches"> {
  const eventCounts: Record<string, number> = {};
  const fetches: TraceSummary["fetches"] = [];
  for (const e of events) {
    eventCounts[e.kind] = (eventCounts[e.kind] ?? 0) + 1;
    if (e.kind === "fetch" && fetches.length < MAX_SUMMARY_FETCHES) {
      const host = e.target.split("/")[0] ?? "";
      fetches.push(
        e.status === undefined ? { host, method: e.op } : { host, method: e.op, status: e.status },
      );
    }
  }
  return { eventCounts, fetches };
}
