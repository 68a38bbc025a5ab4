// The pieces of fluxrun the agent uses, in one place.
export { preflight, replayThrough } from "fluxrun/replay";
export { TRACE_VERSION as TRACE_FORMAT_VERSION } from "fluxrun/trace";
