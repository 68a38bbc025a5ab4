/**
 * `fluxrun/harness` (Node only): replay traces in Miniflare, read wrangler configs, bundle
 * workers, build and render reports, set up an app (`init`), pull traces, write guards.
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
export {
  readWorkerConfig,
  readWranglerConfig,
  replayBindingOptions,
  configBlockers,
  assertReplayable,
  type WorkerConfig,
  type WranglerConfig,
  type ConfigOptions,
} from "./config.js";
export { initApp, formatInit, type InitOptions, type InitResult } from "./init.js";
export {
  pullTraces,
  parseFilters,
  s3FromEnvironment,
  type PullOptions,
  type PullResult,
  type PullFilters,
} from "./pull.js";
export { S3Bucket, signRequest, type S3Credentials } from "./s3.js";
export { bundleWorker } from "./bundle.js";
export { workerBuildOptions } from "./esbuild.js";
export { main as cli } from "./cli.js";
export { loadPrivateKey, type LoadPrivateKeyOptions } from "../trace/key-file.js";
export { loadPolicy } from "./replay.js";
export { localPolicyView, pullPolicy, type PullPolicyOptions } from "./policy.js";
export { scanWorker } from "./scan.js";
export {
  runGuard,
  generateGuard,
  loadFixture,
  BLOCKING_CODES,
  type GuardResult,
  type GuardFiles,
  type GuardOptions,
} from "./guard.js";
