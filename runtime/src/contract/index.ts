/**
 * `fluxrun/contract`: every wire and storage contract between FluxRun's parts, each declared once
 * as a zod schema with its inferred type. Runtime-agnostic (web-standard APIs only).
 *
 * - {@link module:storage} the trace key layout and the summary as R2 custom metadata, and
 *   {@link module:summary} reading that metadata back;
 * - {@link module:ingest} the HTTP sink's batches to the dashboard's `POST /v1/ingest`;
 * - {@link module:report} the replay report, divergences and the preflight report;
 * - {@link module:agent} agent tokens, the agent's HTTP API and error codes, replay authorization;
 * - {@link module:policy} the reviewed replay policy the dashboard signs and the agent enforces;
 * - {@link module:approval} risky actions, approval modes and the signed approval statement;
 * - {@link module:pairing} claim-code pairing of a local connector with the dashboard;
 * - {@link module:sourcemap} source-map uploads to the dashboard and where they are kept.
 *
 * @example
 * ```ts
 * import { traceKey, IngestResponse, AgentTokenClaims } from "fluxrun/contract";
 * ```
 * @module
 */
export * from "./storage.js";
export * from "./summary.js";
export * from "./ingest.js";
export * from "./report.js";
export * from "./agent.js";
export * from "./policy.js";
export * from "./approval.js";
export * from "./pairing.js";
export * from "./sourcemap.js";
