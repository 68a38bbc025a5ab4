// Variant "flux-r2": withFlux with its default sink, the FLUX_TRACES R2 bucket (Miniflare's local
// R2 simulator in the same workerd process, so its write lands in the worker's CPU).
import { fluxHost, withFlux } from "fluxrun";
import { benchHandler } from "../app.js";

export default withFlux(benchHandler(fluxHost.call), { app: "bench" });
