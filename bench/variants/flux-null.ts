// Variant "flux-null": withFlux with a sink that drops the sealed bytes (FluxRun's own CPU, without
// a storage write). It counts what it was handed, answered on /__exported for the bench.
import { fluxHost, withFlux } from "fluxrun";
import { benchHandler } from "../app.js";

let exported = 0;
let traces = 0;
const wrapped = withFlux(benchHandler(fluxHost.call), {
  app: "bench",
  sink: {
    name: "null",
    write: async (trace) => {
      exported += trace.bytes.length;
      traces++;
    },
  },
});

export default {
  fetch(request: Request, env: never, ctx: ExecutionContext) {
    if (new URL(request.url).pathname === "/__exported")
      return Response.json({ bytes: exported, traces });
    return wrapped.fetch!(request as never, env, ctx);
  },
};
