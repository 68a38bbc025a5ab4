/**
 * Replays traces in Miniflare: bundle the worker named by the wrangler config, run it with every
 * binding an empty in-memory stand-in, `outboundService` refusing all network, and each trace sent
 * in as a replay envelope. One warm instance serves many traces.
 * @module
 */
import { randomBytes } from "node:crypto";
import { startMiniflare, type Miniflare } from "./_miniflare.js";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { asFluxError, FluxError } from "../errors.js";
import {
  allowsLive,
  DENY_ALL,
  parsePolicy,
  POLICY_FILE,
  type ReplayPolicy,
} from "../replay/policy.js";
import { openTrace, type OriginKeys, type PlainTrace } from "../trace/seal.js";
import { parsePrivateJwk, type PrivateJwk } from "../trace/keys.js";
import { REPLAY_SECRET_VAR } from "../replay/envelope.js";
import { replayThrough } from "../replay/client.js";
import { bundleWithInputs } from "./bundle.js";
import { cacheDir, cachedBundle } from "./_cache.js";
import {
  assertReplayable,
  readWorkerConfig,
  replayBindingOptions,
  type WorkerConfig,
} from "./config.js";
import type { ReplayReport } from "../replay/report.js";
import { mapReportSites, SourceMaps, type SiteMaps } from "./source-map.js";

/** The module name of the replay bundle in Miniflare (its frames' file). */
const REPLAY_MODULE = "worker.js";

/** The source map esbuild appended to a bundle, if any. */
function inlineSourceMap(script: string): string | undefined {
  const m = /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(
    script,
  );
  return m ? Buffer.from(m[1]!, "base64").toString("utf8") : undefined;
}

export interface ReplayerOptions {
  /** wrangler config path (default: found in `cwd` or above), or a config already read. */
  config?: string | WorkerConfig;
  cwd?: string;
  /** The entry module when the config has no `main` (`wrangler dev src/index.ts`). */
  entry?: string;
  /** A wrangler environment, as `wrangler dev --env`. */
  env?: string;
  /** Worker code to run instead of bundling the config's entry (tests, benchmarks). */
  script?: string;
  /** Replay policy; default: `fluxrun.policy.json` next to the config, else deny-all. */
  policy?: ReplayPolicy;
  /**
   * The deployed bundle's source map, to show recorded call sites in source. Without it, a
   * `<bundle>.map` beside a recorded bundle path that exists here is used, if any.
   */
  sourceMap?: string;
}

/** Loads `fluxrun.policy.json` from a directory, or deny-all when there is none. */
export async function loadPolicy(dir: string, path?: string): Promise<ReplayPolicy> {
  const file = path ?? join(dir, POLICY_FILE);
  if (!path && !existsSync(file)) return DENY_ALL;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not read the policy file ${file}`, { cause });
  }
  return parsePolicy(text);
}

/**
 * A warm Miniflare instance that replays traces of one worker.
 *
 * @example
 * ```ts
 * const replayer = await Replayer.start({ config: "wrangler.toml" });
 * const report = await replayer.replay(bytes, privateJwk);
 * await replayer.dispose();
 * ```
 */
export class Replayer {
  readonly config: WorkerConfig;
  readonly #mf: Miniflare;
  readonly #secret: string;
  readonly policy: ReplayPolicy;
  readonly #maps: SiteMaps;
  #liveAttempts = 0;

  private constructor(
    config: WorkerConfig,
    mf: Miniflare,
    secret: string,
    policy: ReplayPolicy,
    maps: SiteMaps,
  ) {
    this.config = config;
    this.#mf = mf;
    this.#secret = secret;
    this.policy = policy;
    this.#maps = maps;
  }

  static async start(options: ReplayerOptions = {}): Promise<Replayer> {
    const config =
      typeof options.config === "object"
        ? options.config
        : await readWorkerConfig(options.config, {
            cache: true,
            ...(options.cwd ? { cwd: options.cwd } : {}),
            ...(options.entry ? { entry: options.entry } : {}),
            ...(options.env ? { env: options.env } : {}),
          });
    assertReplayable(config);
    const build = { keepNames: config.keepNames, minify: config.minify, sourcemap: true };
    const script =
      options.script ??
      (await cachedBundle(cacheDir(config.path), { entry: config.main, ...build }, () =>
        bundleWithInputs(config.main, build),
      ));
    const cwd = options.cwd ?? process.cwd();
    const maps = { recorded: new SourceMaps(cwd), replayed: new SourceMaps(cwd) };
    if (options.sourceMap) await maps.recorded.addFallback(options.sourceMap);
    const inline = inlineSourceMap(script);
    if (inline) maps.replayed.addBundle(REPLAY_MODULE, inline, dirname(config.main));
    const secret = randomBytes(32).toString("hex");
    const policy = options.policy ?? (await loadPolicy(dirname(config.path)));
    let replayer: Replayer | undefined;
    const refuse = () => {
      if (replayer) replayer.#liveAttempts++;
      return new Response("FluxRun replay: live network access is blocked", { status: 599 });
    };
    // The second line of defence: only a fetch the policy allows exactly leaves the sandbox.
    const outbound = async (request: Request) => {
      if (!allowsLive(policy, request.method, request.url)) return refuse();
      return fetch(request.url, {
        method: request.method,
        headers: request.headers,
        redirect: "manual",
      });
    };
    const mf = startMiniflare({
      name: config.name,
      modules: [{ type: "ESModule", path: REPLAY_MODULE, contents: script }],
      compatibilityDate: config.compatibilityDate,
      compatibilityFlags: config.compatibilityFlags,
      bindings: { ...config.vars, [REPLAY_SECRET_VAR]: secret },
      ...replayBindingOptions(config),
      outboundService: outbound as never,
      kvPersist: false,
      r2Persist: false,
      d1Persist: false,
      cachePersist: false,
    });
    await mf.ready;
    replayer = new Replayer(config, mf, secret, policy, maps);
    return replayer;
  }

  /**
   * Opens one trace with `key`, its origin checked against `origin` (the registered verification
   * keys; none: read as unverified), and replays it. Throws FluxError for unreadable or forged
   * traces.
   */
  async replay(
    bytes: Uint8Array,
    key: PrivateJwk | string,
    origin: OriginKeys = {},
  ): Promise<ReplayReport> {
    const opened = await openTrace(bytes, typeof key === "string" ? parsePrivateJwk(key) : key, {
      origin,
    });
    return { ...(await this.replayOpened(opened)), origin: opened.origin };
  }

  /** Replays an already opened trace (or an unsealed fixture). */
  async replayOpened(
    opened: PlainTrace,
    policy: ReplayPolicy = this.policy,
  ): Promise<ReplayReport> {
    const report = await replayThrough(
      async (request) => {
        const res = await this.#mf.dispatchFetch(request.url, {
          method: request.method,
          headers: request.headers as never,
          body: new Uint8Array(await request.arrayBuffer()),
        });
        return res as unknown as Response;
      },
      opened,
      { secret: this.#secret },
      // The harness holds the private key: its reports show the differing values.
      { liveNetworkAttempts: () => this.#liveAttempts, policy, values: true },
    );
    return mapReportSites(report, this.#maps);
  }

  async dispose(): Promise<void> {
    await this.#mf.dispose();
  }
}

/** One trace's outcome in a batch: a report, or the error that kept it from replaying. */
export type ReplayOutcome =
  | { file: string; report: ReplayReport }
  | { file: string; error: { code: string; message: string } };

/** Exit code for a batch: 2 if any trace could not be read, else 1 if any diverged, else 0. */
export function exitCodeOf(outcomes: readonly ReplayOutcome[]): 0 | 1 | 2 {
  if (outcomes.some((o) => "error" in o)) return 2;
  if (outcomes.some((o) => "report" in o && o.report.verdict === "diverged")) return 1;
  return 0;
}

/** Replays each file's bytes in one warm instance. */
export async function replayAll(
  files: readonly { file: string; bytes: Uint8Array }[],
  key: PrivateJwk | string,
  options: ReplayerOptions & { origin?: OriginKeys } = {},
): Promise<ReplayOutcome[]> {
  const replayer = await Replayer.start(options);
  try {
    const out: ReplayOutcome[] = [];
    for (const { file, bytes } of files) {
      try {
        out.push({ file, report: await replayer.replay(bytes, key, options.origin ?? {}) });
      } catch (err) {
        const { code, message } = asFluxError(err, "ERR_INTERNAL", "Could not replay the trace");
        out.push({ file, error: { code, message } });
      }
    }
    return out;
  } finally {
    await replayer.dispose();
  }
}
