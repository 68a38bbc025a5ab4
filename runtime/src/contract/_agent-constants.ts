/**
 * The agent contract's names and limits the app's replay check needs, free of the schema
 * library; {@link module:agent} re-exports them beside its zod schemas.
 * @module
 */

/** Clock difference tolerated between dashboard and agent, in seconds. */
export const TOKEN_CLOCK_SKEW_S = 5;
/** Characters of a token at most (checked before any parsing). */
export const TOKEN_MAX_LENGTH = 4096;

/** Request header carrying the agent's signed replay authorization to the app. */
export const REPLAY_AUTH_HEADER = "x-fluxrun-replay-auth";
/** Env var holding the agent's public Ed25519 JWK (JSON) on the app. */
export const AGENT_KEY_VAR = "FLUX_AGENT_KEY";
export const REPLAY_AUTH_AUDIENCE = "fluxrun-replay";
export const REPLAY_AUTH_TYPE = "fluxrun-replay+jwt";
export const REPLAY_AUTH_MAX_AGE_S = 60;
