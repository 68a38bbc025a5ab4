/**
 * Call sites in the replay report: each divergence names where the recorded call and the replayed
 * one were made, in source when a source map covers them (`extra_call at src/orders.ts:42 priceOf
 * (replayed call)`), the bundle position on hover. Recorded frames are of the recorded release
 * and map with its map. Replayed frames are of the build the agent replays through, which the
 * report does not name: they map with the recorded release's map unless the responder picks the
 * release that build is (the report's "Replayed build" select). Frames the page has not mapped
 * yet are mapped by the dashboard, and each line updates when it answers.
 * @module
 */
import type { CallSite, Divergence } from "fluxrun/contract";
import type { ExecutionConfig, MappedFrames } from "../src/browser.js";
import { dashboard } from "./api.js";
import { el } from "./dom.js";

type SourceMaps = ExecutionConfig["sourceMaps"];
interface At {
  ws: string;
  trace: string;
}

const key = (f: CallSite): string => `${f[1]}:${f[2]}:${f[3]}`;

function shown(f: CallSite, mapped: CallSite | null | undefined): string {
  if (mapped) return `${mapped[1]}:${mapped[2]}${mapped[0] || f[0] ? ` ${mapped[0] || f[0]}` : ""}`;
  return `${f[1].split("/").pop()}:${f[2]}:${f[3]}${f[0] ? ` ${f[0]}` : ""}`;
}

interface Line {
  node: HTMLElement;
  code: string;
  side: "recorded" | "replayed";
  frame: CallSite;
}

/** The replayed-call lines of the report on the page, re-mapped when the release changes. */
let replayed: Line[] = [];
/** The release replayed frames map with (null: the recorded one). */
let replayRelease: string | null = null;
/** The release the agent's build said it runs, from the last report. */
let replayedBuild: string | undefined;

function write(line: Line, mapped: CallSite | null | undefined, release: string | null): void {
  line.node.textContent = `${line.code} at ${shown(line.frame, mapped)} (${line.side} call)`;
  line.node.dataset.mapped = mapped ? "1" : "0";
  line.node.title = mapped
    ? `bundle: ${key(line.frame)} · mapped with the source map of ${release ?? "the bundle"}`
    : `bundle: ${key(line.frame)}`;
}

/** Maps `lines` with `release`'s maps on the dashboard, writing each line as it answers. */
function mapOnDashboard(lines: Line[], release: string | null, at: At): void {
  if (!lines.length) return;
  dashboard<MappedFrames>(`/api/w/${at.ws}/executions/${at.trace}/sites`, {
    frames: lines.map((l) => l.frame),
    ...(release ? { release } : {}),
  })
    .then((res) => res.frames.forEach((m, i) => lines[i] && write(lines[i], m, res.release)))
    .catch(() => undefined); // the bundle position stays: mapping is a convenience
}

/**
 * The site lines of a divergence (none when the report has no site).
 *
 * @example
 * ```ts
 * row.append(...siteLines(d, cfg.sourceMaps, { ws, trace }));
 * ```
 */
export function siteLines(d: Divergence, maps: SourceMaps, at: At): HTMLElement[] {
  const lines: Line[] = [];
  for (const side of ["recorded", "replayed"] as const) {
    const frame = d.site?.[side]?.[0];
    if (!frame) continue;
    const node = el("div", {
      cls: "small mono site",
      "data-site": side,
      "data-code": d.code,
      "data-bundle": key(frame),
    });
    lines.push({ node, code: d.code, side, frame });
  }
  const pending: Line[] = [];
  for (const line of lines) {
    const sameRelease = line.side === "recorded" || replayRelease === null;
    const known = sameRelease ? maps.sites[key(line.frame)] : undefined;
    write(line, known, maps.release);
    if (line.side === "replayed") replayed.push(line);
    if (!known && maps.mapped && sameRelease) pending.push(line);
  }
  mapOnDashboard(pending, null, at);
  if (replayRelease !== null) {
    mapOnDashboard(
      lines.filter((l) => l.side === "replayed"),
      replayRelease,
      at,
    );
  }
  return lines.map((l) => l.node);
}

/**
 * Forgets the lines of the report shown before (a new report replaces it). When the agent's build
 * named its release and this app has a map for it, its replayed call sites map with that map.
 */
export function resetSites(replayedRelease: string | undefined, maps: SourceMaps): void {
  replayed = [];
  replayedBuild = replayedRelease;
  if (
    replayedRelease &&
    replayedRelease !== maps.release &&
    maps.releases.includes(replayedRelease)
  ) {
    replayRelease = replayedRelease;
  }
}

/**
 * The report's "Replayed build" select: which release's map the replayed call sites use (the
 * releases of this app with a map), or null when no release has one.
 */
export function replayMapControl(maps: SourceMaps, at: At): HTMLElement | null {
  if (!maps.releases.length || !replayed.length) return null;
  const recorded = maps.release ?? "";
  const select = el(
    "select",
    { id: "replay-release", "aria-label": "Release of the replayed build" },
    [
      el("option", {
        value: "",
        text: maps.release ? `${maps.release} (the recorded release)` : "the recorded bundle",
      }),
      ...maps.releases
        .filter((r) => r !== recorded)
        .map((r) =>
          el("option", { value: r, text: r === replayedBuild ? `${r} (the replayed build)` : r }),
        ),
    ],
  );
  select.value = replayRelease ?? "";
  select.addEventListener("change", () => {
    replayRelease = select.value || null;
    for (const line of replayed) write(line, undefined, null);
    mapOnDashboard(replayed, replayRelease ?? maps.release, at);
  });
  return el("p", { cls: "small muted", id: "replay-map" }, [
    "Replayed call sites are of the build your agent replays through; map them with the source map of release ",
    select,
  ]);
}
