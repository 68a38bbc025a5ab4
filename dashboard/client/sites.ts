/**
 * Call sites in the replay report: each divergence names where the recorded call and the replayed
 * one were made, in source when the release has a source map (`extra_call at src/orders.ts:42`).
 * Frames the page already has mapped come from its configuration; others (the replay's own) are
 * mapped by the dashboard in one request, and the line updates when it answers.
 * @module
 */
import type { CallSite, Divergence } from "fluxrun/contract";
import type { ExecutionConfig, MappedFrames } from "../src/browser.js";
import { dashboard } from "./api.js";
import { el } from "./dom.js";

type SourceMaps = ExecutionConfig["sourceMaps"];

const key = (f: CallSite): string => `${f[1]}:${f[2]}:${f[3]}`;

function shown(f: CallSite, mapped: CallSite | undefined): string {
  if (mapped) return `${mapped[1]}:${mapped[2]}${mapped[0] || f[0] ? ` ${mapped[0] || f[0]}` : ""}`;
  return `${f[1].split("/").pop()}:${f[2]}:${f[3]}${f[0] ? ` ${f[0]}` : ""}`;
}

/** One side of a divergence's site as a line: `extra_call at src/orders.ts:42 priceOf (replayed call)`. */
function sideLine(
  code: string,
  label: string,
  frames: readonly CallSite[] | undefined,
  maps: SourceMaps,
): HTMLElement | null {
  const top = frames?.[0];
  if (!top) return null;
  const mapped = maps.sites[key(top)];
  return el("div", {
    cls: "small mono site",
    "data-site": label,
    "data-bundle": key(top),
    title: `bundle: ${key(top)}`,
    "data-code": code,
    text: `${code} at ${shown(top, mapped)} (${label} call)`,
  });
}

/**
 * The site lines of a divergence (none when the report has no site), mapping on the dashboard
 * the frames this page does not have.
 *
 * @example
 * ```ts
 * row.append(...siteLines(d, cfg.sourceMaps, { ws, trace }));
 * ```
 */
export function siteLines(
  d: Divergence,
  maps: SourceMaps,
  at: { ws: string; trace: string },
): HTMLElement[] {
  const lines = [
    sideLine(d.code, "recorded", d.site?.recorded, maps),
    sideLine(d.code, "replayed", d.site?.replayed, maps),
  ].filter((n): n is HTMLElement => n !== null);
  if (!maps.mapped) return lines;
  const missing = [d.site?.recorded?.[0], d.site?.replayed?.[0]].filter(
    (f): f is CallSite => f !== undefined && !maps.sites[key(f)],
  );
  if (missing.length) {
    dashboard<MappedFrames>(`/api/w/${at.ws}/executions/${at.trace}/sites`, { frames: missing })
      .then((res) => {
        res.frames.forEach((m, i) => {
          const f = missing[i];
          if (!m || !f) return;
          maps.sites[key(f)] = m;
          for (const line of lines) {
            if (line.dataset.bundle === key(f)) {
              line.textContent = `${line.dataset.code} at ${shown(f, m)} (${line.dataset.site} call)`;
            }
          }
        });
      })
      .catch(() => undefined); // the bundle position stays: mapping is a convenience
  }
  return lines;
}
