/**
 * `fluxrun/deno` specifics: fluxENV reads Deno.env only where permission was granted (never
 * prompting, never throwing), and trace writes run after the response until flush().
 */
import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { flush, fluxENV, withFlux } from "fluxrun/deno";
import { generateTraceKeys, readTrace } from "fluxrun/trace";

Deno.test("fluxENV: a variable without env permission reads as unset", () => {
  // The test task grants --allow-env=CONFORMANCE_SECRET,FLUXRUN_CONFORMANCE_DIR only.
  equal(Deno.permissions.querySync({ name: "env", variable: "PATH" }).state, "prompt");
  equal(fluxENV.get("PATH"), undefined);
  Deno.env.set("CONFORMANCE_SECRET", "s3");
  equal(fluxENV.get("CONFORMANCE_SECRET"), "s3");
  Deno.env.delete("CONFORMANCE_SECRET");
});

Deno.test(
  "withFlux: answers first, writes the trace in the background, flush() waits",
  async () => {
    const { publicJwk } = await generateTraceKeys();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const written: Uint8Array[] = [];
    const sink = {
      name: "slow",
      async write(t: { bytes: Uint8Array }) {
        await gate;
        written.push(t.bytes);
      },
    };
    const fetchFn = withFlux(() => new Response("ok"), { app: "d", sink, publicKey: publicJwk });
    equal(await (await fetchFn(new Request("http://app.test/x"))).text(), "ok");
    equal(written.length, 0);
    release();
    await flush();
    equal(written.length, 1);
    const { summary } = readTrace(written[0]).head;
    deepStrictEqual([summary.runtime, summary.app, summary.route], ["deno", "d", "/x"]);
  },
);

Deno.test("withFlux: refuses a missing sink", () => {
  throws(() => withFlux(() => new Response(""), {} as never), TypeError);
});
