/**
 * Options of `withFlux`, with their defaults.
 * @module
 */
import type { FluxError } from "./errors.js";
import type { TraceSink } from "./sink/_sink.js";
import type { PublicJwk } from "./trace/keys.js";
import type { SigningJwk } from "./trace/_sign.js";

/** The size budget of one execution's trace. */
export interface SessionLimits {
  maxEvents: number;
  maxBodyBytes: number;
  maxTraceBytes: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  maxEvents: 5000,
  maxBodyBytes: 256 * 1024,
  maxTraceBytes: 4 * 1024 * 1024,
};

/**
 * What a trace keeps of an outbound response body (fetch, service binding) the app never read:
 * - `"keep"` (default): the body, read from a copy, as evidence (an upstream's error page);
 * - `"digest"`: its size and SHA-256 only, read but never stored;
 * - `"skip"`: nothing is read of a body with a declared length, which is kept; a stream of unknown
 *   length is read as it comes (a held copy would buffer a whole download), then dropped.
 * With `"digest"` or `"skip"` the decision is made once the execution has ended. A replay that reads a body the recording never read fails that read with
 * ERR_REPLAY_UNREAD and reports it.
 */
export type UnreadBodies = "keep" | "digest" | "skip";

const UNREAD_BODIES: readonly UnreadBodies[] = ["keep", "digest", "skip"];

/** Header names whose values are always masked. */
export const DEFAULT_MASK_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-csrf-token",
  "x-amz-security-token",
  "cf-access-jwt-assertion",
];

export interface FluxOptions {
  /** App name in summaries and storage keys. Default: env.FLUX_APP, else "app". */
  app?: string;
  /** Share of ok executions to keep, 0..1. Errors, exceptions and 5xx are always kept. Default 1. */
  sample?: number;
  /** More header names to mask (values sealed, shown masked, revealed only when named). */
  maskHeaders?: readonly string[];
  /** JSON body field paths to mask, such as `password` or `card.number`. */
  maskFields?: readonly string[];
  /** Size budget: events, bytes per body, bytes per trace. */
  limits?: Partial<SessionLimits>;
  /** What a trace keeps of a response body the app never read. Default "keep". */
  unreadBodies?: UnreadBodies;
  /** Route label for summaries. Default: the URL path. */
  route?: (request: Request) => string;
  /** Where traces go. Default: the R2 binding FLUX_TRACES (Workers). */
  sink?: TraceSink;
  /** Public X25519 JWK traces are sealed to. Default: env.FLUX_PUBLIC_KEY. */
  publicKey?: string | PublicJwk;
  /**
   * Private Ed25519 JWK each trace is signed with, so verifiers can tell the app's traces from
   * forged ones (anyone may seal to the public key). A secret: `wrangler secret put
   * FLUX_SIGNING_KEY`, never in the config. Default: env.FLUX_SIGNING_KEY; unsigned without one.
   */
  signingKey?: string | SigningJwk;
  /**
   * The release (script version) that ran, in summaries, for search and source maps. Default:
   * env.FLUX_RELEASE, else the `id` of a version metadata binding named CF_VERSION_METADATA
   * (`[version_metadata] binding = "CF_VERSION_METADATA"` in wrangler.toml).
   */
  release?: string;
  /** Called when a trace could not be stored; the response is never affected. */
  onError?: (error: FluxError) => void;
}

/** Options after defaults, with the sample rate checked. */
export interface ResolvedOptions {
  sample: number;
  maskHeaders: ReadonlySet<string>;
  maskFields: readonly string[];
  limits: Partial<SessionLimits>;
  unreadBodies: UnreadBodies;
  route: (request: Request) => string;
  options: FluxOptions;
}

export function resolveOptions(options: FluxOptions = {}): ResolvedOptions {
  const sample = options.sample ?? 1;
  if (typeof sample !== "number" || !(sample >= 0 && sample <= 1)) {
    throw new RangeError("withFlux option `sample` must be a number from 0 to 1");
  }
  const unreadBodies = options.unreadBodies ?? "keep";
  if (!UNREAD_BODIES.includes(unreadBodies)) {
    throw new RangeError('withFlux option `unreadBodies` must be "keep", "digest" or "skip"');
  }
  return {
    sample,
    unreadBodies,
    maskHeaders: new Set(
      [...DEFAULT_MASK_HEADERS, ...(options.maskHeaders ?? [])].map((h) => h.toLowerCase()),
    ),
    maskFields: [...(options.maskFields ?? [])],
    limits: options.limits ?? {},
    route: options.route ?? ((r) => new URL(r.url).pathname),
    options,
  };
}
