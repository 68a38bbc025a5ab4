/**
 * Setup states shared by pages: the trace bucket not bound, no traces yet. Each says what is
 * wrong and how to fix it.
 * @module
 */
import { h, type Html } from "./html.js";
import { stateBox } from "./layout.js";

export const BINDING_FIX = h`<p>Add the trace bucket to <code>dashboard/wrangler.toml</code> and redeploy:</p>
<code class="cmd">[[r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "fluxrun-traces"</code>`;

export function bindingMissing(): Html {
  return stateBox(
    "bad",
    "The trace bucket is not bound (FLUX_TRACES)",
    h`<p>The dashboard cannot list or read traces without its R2 binding.</p>${BINDING_FIX}`,
    { id: "state-binding-missing", code: "ERR_BINDING_MISSING" },
  );
}

export function noTracesYet(ws: string, hasBucketObjects: boolean | null): Html {
  return stateBox(
    "info",
    "No traces yet",
    h`<p>${
      hasBucketObjects
        ? "The bucket holds traces, but none belong to an app of this workspace yet."
        : "Nothing has been recorded into the trace bucket yet."
    }</p>
    <ol>
      <li>Wrap the worker: <code>export default withFlux(app, { app: "my-app" })</code> with <code>FLUX_PUBLIC_KEY</code> set and the <code>FLUX_TRACES</code> bucket bound.</li>
      <li>Send it some traffic (<code>npm start</code> runs the example worker and its demo traffic locally).</li>
      <li>${hasBucketObjects ? h`Register the app in <a href="/w/${ws}/admin">Admin → Apps</a>, then` : null} index: the sweep runs every minute, or an admin can click <b>Reindex from R2</b> in <a href="/w/${ws}/admin">Admin</a>.</li>
    </ol>`,
    { id: "state-no-traces", code: "NO_TRACES" },
  );
}
