/**
 * The Source maps page: which app, release and bundle each uploaded map serves, the upload form
 * (responders and admins) and the CLI command doing the same from a deploy pipeline.
 * @module
 */
import { h, type Html } from "./html.js";
import { formatBytes, formatTime } from "./format.js";
import type { SourceMapRow } from "../sourcemaps/store.js";

export interface SourceMapsData {
  ws: string;
  apps: string[];
  maps: SourceMapRow[];
  canUpload: boolean;
  /** This dashboard's origin, for the CLI command. */
  origin: string;
  maxBytes: number;
  flash: Html | null;
}

function table(maps: readonly SourceMapRow[]): Html {
  if (!maps.length) {
    return h`<p class="muted" id="no-maps">No source maps yet: error views and waterfalls show frames of the deployed bundle.</p>`;
  }
  return h`<table id="maps"><thead><tr><th>App</th><th>Release</th><th>Bundle</th><th class="num">Sources</th><th class="num">Size</th><th>Uploaded</th></tr></thead>
    <tbody>${maps.map(
      (m) => h`<tr data-app="${m.app}" data-release="${m.release ?? ""}"><td>${m.app}</td>
      <td class="mono">${m.release ?? h`<span class="muted">no release</span>`}</td><td class="mono">${m.bundle}</td>
      <td class="num">${m.sources}</td><td class="num nowrap">${formatBytes(m.bytes)}</td>
      <td class="small">${formatTime(m.uploadedAt, { millis: false })} · ${m.uploadedBy}<div class="mono muted" title="SHA-256 of the stored map">${m.sha256.slice(0, 16)}…</div></td></tr>`,
    )}</tbody></table>`;
}

function form(d: SourceMapsData): Html {
  if (!d.canUpload) {
    return h`<p class="small muted" id="upload-role">Uploading needs the responder role.</p>`;
  }
  if (!d.apps.length) {
    return h`<p class="small muted">Register an app in <a href="/w/${d.ws}/admin">Admin → Apps</a> first.</p>`;
  }
  return h`<form method="post" action="/w/${d.ws}/sourcemaps" enctype="multipart/form-data" id="upload" class="filters">
      <label class="f">App<select name="app">${d.apps.map((a) => h`<option>${a}</option>`)}</select></label>
      <label class="f">Release<input name="release" placeholder="v42 (as withFlux records it)" size="20"></label>
      <label class="f">Bundle file<input name="bundle" placeholder="index.js (default: the map's name)" size="22"></label>
      <label class="f">Source map<input type="file" name="map" accept=".map,application/json" required></label>
      <button type="submit">Upload</button>
    </form>
    <p class="small muted">At most ${formatBytes(d.maxBytes)}. Without a release, the map serves executions that record none, by bundle file name.</p>`;
}

/** The page body. */
export function sourceMapsView(d: SourceMapsData): Html {
  return h`<h1>Source maps</h1>
    <p class="sub">Recorded call sites point into the deployed bundle. With the bundle's source map (wrangler's <code>--upload-source-maps</code> output), error views, waterfalls and replay divergences show <code>src/orders.ts:42</code> instead.</p>
    ${d.flash}
    <div class="panel"><h2>Upload</h2>${form(d)}
      <p class="small" style="margin-top:12px">From a deploy pipeline, with a dashboard API token of a responder:</p>
      <code class="cmd">npx wrangler deploy --outdir dist --upload-source-maps
FLUX_DASHBOARD_TOKEN=fxd_… npx fluxrun sourcemaps upload dist/index.js.map --app ${d.apps[0] ?? "<app>"} --release "$RELEASE" --dashboard ${d.origin}</code>
    </div>
    <div class="panel"><h2>Uploaded maps</h2>${table(d.maps)}
      <p class="small muted">Maps are stored without their source text (<code>sourcesContent</code> is dropped), never executed and never served back: members see the mapped file names, lines and functions only.</p>
    </div>`;
}
