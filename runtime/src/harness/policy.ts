/**
 * The reviewed replay policy on the CLI's side. `fluxrun policy pull` fetches the app's approved
 * policy from the dashboard (`GET /api/apps/:app/policy`, with an API token) and writes it as
 * `fluxrun.policy.json` beside the worker's config, with its signed form in `.fluxrun/policy.jws`.
 * `fluxrun replay` then compares the policy file it runs with against that signed form: a file
 * that differs from the last pulled approved version, or one never pulled, is reported as
 * unreviewed.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  LOCAL_POLICY_CODES,
  POLICY_SIGNED_FILE,
  PolicyClaims,
  policyDigest,
  policyPath,
  SignedPolicy,
  type PolicyView,
} from "../contract/policy.js";
import { FluxError } from "../errors.js";
import { POLICY_FILE, type ReplayPolicy } from "../replay/policy.js";
import { isLoopback } from "./_loopback.js";

type LocalCode = (typeof LOCAL_POLICY_CODES)[number];

/** The claims inside a compact JWS, unverified (the CLI reads what it pulled itself). */
function claimsOf(jws: string): PolicyClaims | null {
  const payload = jws.trim().split(".")[1];
  if (!payload) return null;
  try {
    const parsed = PolicyClaims.safeParse(
      JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface PullPolicyOptions {
  /** The dashboard's origin, e.g. `https://fluxrun.example.com`. */
  dashboard: string;
  /** A dashboard API token (`fxd_…`, Account → API tokens). Never printed. */
  token: string;
  app: string;
  /** The folder of the worker's config: the files go here. */
  dir: string;
  fetch?: typeof fetch;
}

/**
 * Fetches the approved policy and writes `fluxrun.policy.json` and `.fluxrun/policy.jws`.
 *
 * @example
 * ```ts
 * const pulled = await pullPolicy({ dashboard: "https://flux.acme.dev", token, app: "shop-api", dir: "." });
 * ```
 */
export async function pullPolicy(
  options: PullPolicyOptions,
): Promise<SignedPolicy & { files: { policy: string; signed: string } }> {
  let base: URL;
  try {
    base = new URL(options.dashboard);
  } catch {
    throw new FluxError(
      "ERR_CONFIG",
      "--dashboard is not a URL (e.g. https://fluxrun.example.com)",
    );
  }
  if (base.protocol !== "https:" && !isLoopback(base.hostname)) {
    throw new FluxError(
      "ERR_CONFIG",
      "--dashboard must be https (the API token travels with the request; plain http only on loopback)",
    );
  }
  const url = new URL(policyPath(options.app), base);
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: "application/json" },
      redirect: "error",
    });
  } catch (cause) {
    throw new FluxError("ERR_POLICY_PULL", `Could not reach the dashboard at ${base.origin}`, {
      cause,
    });
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const detail =
      typeof err?.code === "string" && typeof err.message === "string"
        ? `${err.code}: ${err.message}`
        : `status ${res.status}`;
    throw new FluxError("ERR_POLICY_PULL", `The dashboard refused the policy pull (${detail})`);
  }
  const parsed = SignedPolicy.safeParse(body);
  const claims = parsed.success ? claimsOf(parsed.data.jws) : null;
  if (
    !parsed.success ||
    !claims ||
    claims.app !== options.app ||
    claims.app !== parsed.data.app ||
    claims.version !== parsed.data.version ||
    claims.digest !== parsed.data.digest ||
    policyDigest(parsed.data.policy) !== parsed.data.digest
  )
    throw new FluxError(
      "ERR_POLICY_PULL",
      "The dashboard's answer is not a signed policy for this app",
    );
  const files = {
    policy: join(options.dir, POLICY_FILE),
    signed: join(options.dir, POLICY_SIGNED_FILE),
  };
  await mkdir(dirname(files.signed), { recursive: true });
  await writeFile(files.policy, `${JSON.stringify(parsed.data.policy, null, 2)}\n`);
  await writeFile(files.signed, `${parsed.data.jws}\n`);
  return { ...parsed.data, files };
}

/**
 * What a local replay's policy is: `reviewed` when the file is the last pulled approved version
 * (same digest as `.fluxrun/policy.jws`), `unreviewed` when it differs or none was pulled, `none`
 * when there is no policy (deny-all).
 *
 * @example
 * ```ts
 * const view = await localPolicyView(dirname(config.path), policy, { file: "fluxrun.policy.json" });
 * ```
 */
export async function localPolicyView(
  dir: string,
  policy: ReplayPolicy,
  options: { file?: string } = {},
): Promise<PolicyView> {
  const file = options.file ?? join(dir, POLICY_FILE);
  if (!options.file && !existsSync(file)) return { status: "none", source: "default" };
  const digest = policyDigest(policy);
  const signedFile = join(dir, POLICY_SIGNED_FILE);
  const claims = existsSync(signedFile) ? claimsOf(await readFile(signedFile, "utf8")) : null;
  if (!claims)
    return {
      status: "unreviewed",
      source: "file",
      digest,
      diagnostic: {
        code: "ERR_POLICY_NOT_PULLED" satisfies LocalCode,
        message: `no approved version pulled (${POLICY_SIGNED_FILE}): run fluxrun policy pull`,
      },
    };
  if (claims.digest !== digest)
    return {
      status: "unreviewed",
      source: "file",
      digest,
      app: claims.app,
      diagnostic: {
        code: "ERR_POLICY_EDITED" satisfies LocalCode,
        message: `the policy differs from the approved v${claims.version} pulled for ${claims.app}: propose the change on the dashboard`,
      },
    };
  return {
    status: "reviewed",
    source: "file",
    app: claims.app,
    ws: claims.ws,
    version: claims.version,
    digest,
  };
}
