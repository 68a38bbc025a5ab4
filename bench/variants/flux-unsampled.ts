// Variant "flux-unsampled": withFlux with sample 0 and the dropping sink: what a request that ends
// ok and is not kept costs.
import { fluxHost, withFlux } from "fluxrun";
import { benchHandler } from "../app.js";

export default withFlux(benchHandler(fluxHost.call), {
  app: "bench",
  sample: 0,
  sink: { name: "null", write: async () => {} },
});
