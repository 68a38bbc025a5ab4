/**
 * What the dashboard's pages share with their own browser scripts (`dashboard/client/`): the
 * page configuration each page embeds as JSON, and the dashboard API answers the scripts read.
 * Types only; the agent's side of the browser's calls is the agent contract in `fluxrun/contract`.
 * @module
 */
import type { CallSite, TraceAction } from "fluxrun/contract";

/** The id of the `<script type="application/json">` holding a page's {@link PageConfig}. */
export const PAGE_CONFIG_ID = "flux-config";

/** The execution page's configuration. */
export interface ExecutionConfig {
  trace: string;
  ws: string;
  app: string;
  agentOrigin: string | null;
  agentId: string | null;
  /** When the execution started (epoch ms). */
  start: number;
  /** The outbound HTTP calls (for the HAR export): timings in µs from the start. */
  network: {
    seq: number;
    method: string;
    target: string;
    status: number | null;
    at: number;
    dur: number | null;
  }[];
  /** Unlockable fields holding secrets (env values): revealed only after a confirmation. */
  secrets: { path: string; name: string }[];
  /** Fields one unlock may name (the agent contract's limit). */
  maxFields: number;
  timeouts: AgentTimeouts;
  /** Frames in source: the release's maps, and the head's frames mapped by bundle position. */
  sourceMaps: {
    release: string | null;
    mapped: boolean;
    sites: Record<string, CallSite>;
    /** Releases of the app with a source map, the newest upload first. */
    releases: string[];
  };
}

/**
 * `POST /api/w/:ws/executions/:trace/sites {frames, release?}`: frames in source with the maps of
 * `release` (default: the execution's), null where no map covers one.
 */
export interface MappedFrames {
  release: string | null;
  mapped: boolean;
  frames: (CallSite | null)[];
}

/** How long the page waits for the agent before it shows "not answering", in ms. */
export interface AgentTimeouts {
  /** Health checks and unlocks. */
  call: number;
  /** Replays (they run the app). */
  replay: number;
}

/** The diagnostics page's configuration. */
export interface DiagnosticsConfig {
  agentOrigin: string | null;
  agentId: string | null;
  /** The key id the dashboard signs tokens with, or null when it has none. */
  kid: string | null;
  traceVersion: number;
  isAdmin: boolean;
  autoCheck: boolean;
  timeouts: AgentTimeouts;
}

/** `POST /api/tokens`: a single-use token for one action, and the agent to send it to. */
export interface IssuedToken {
  token: string;
  act: TraceAction;
  trace: string;
  jti: string;
  expiresAt: string;
  agent: { origin: string; id: string };
  /** For act `replay`: the app's approved policy, signed; the page passes it to the agent. */
  policy?: string;
}

/** `POST /api/tokens` body. */
export interface TokenRequestBody {
  trace: string;
  act: TraceAction;
  fields?: string[];
  /** A second person's approval (its id) for a risky action. */
  approval?: string;
}

/** `POST /api/guards` answer. */
export interface SavedGuard {
  id: string;
  trace: string;
  command: string;
  status: number | null;
  bodyDigest: string | null;
  boundaries: string[];
}

/** The "Pair a local agent" page's configuration. */
export interface PairConfig {
  ws: string;
  /** The connector address the form starts with (the QR link's `agent` overrides it). */
  defaultAgent: string;
}

/** `POST /api/pairings/:id/confirm` answer. */
export interface ConfirmedPairing {
  pairing: string;
  state: "active";
  ws: string;
  agentId: string;
}
