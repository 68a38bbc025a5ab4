/**
 * `fluxrun/harness` (Node only): replay traces in Miniflare, read wrangler configs, bundle
 * workers, build and render reports.
 * @module
 */
export {
  Replayer,
  replayAll,
  exitCodeOf,
  type ReplayOutcome,
  type ReplayerOptions,
} from "./replay.js";
export {
  buildReport,
  formatReport,
  type ReplayReport,
  type OutcomeView,
} from "../replay/report.js";
export { readWorkerConfig, type WorkerConfig } from "./config.js";
export { bundleWorker } from "./bundle.js";
export { workerBuildOptions } from "./esbuild.js";
export { main as cli } from "./cli.js";
export { loadPrivateKey, type LoadPrivateKeyOptions } from "../trace/key-file.js";
export { loadPolicy } from "./replay.js";
export { scanWorker } from "./scan.js";
export {
  runGuard,
  generateGuard,
  loadFixture,
  BLOCKING_CODES,
  type GuardResult,
  type GuardFiles,
} from "./guard.js";
