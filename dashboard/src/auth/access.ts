/**
 * Cloudflare Access: verifies the `Cf-Access-Jwt-Assertion` JWT (or the `CF_Authorization`
 * cookie) against the team's JWKS. Tests and air-gapped setups pass the JWKS inline in
 * ACCESS_JWKS; otherwise it is fetched from `https://<team>/cdn-cgi/access/certs`.
 * @module
 */
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Env } from "../env.js";
import { DashboardError } from "../errors.js";

const remote = new Map<string, JWTVerifyGetKey>();

function keySet(env: Env): JWTVerifyGetKey {
  if (env.ACCESS_JWKS) {
    try {
      return createLocalJWKSet(
        JSON.parse(env.ACCESS_JWKS) as Parameters<typeof createLocalJWKSet>[0],
      );
    } catch (cause) {
      throw new DashboardError("ERR_ACCESS_CONFIG", "ACCESS_JWKS is not a JWKS document", {
        fix: "Set ACCESS_JWKS to the JSON of https://<team>.cloudflareaccess.com/cdn-cgi/access/certs, or unset it to fetch it",
        cause,
      });
    }
  }
  const domain = env.ACCESS_TEAM_DOMAIN!;
  let set = remote.get(domain);
  if (!set) {
    set = createRemoteJWKSet(new URL(`https://${domain}/cdn-cgi/access/certs`));
    remote.set(domain, set);
  }
  return set;
}

/** True when Cloudflare Access login is configured. */
export function accessConfigured(env: Env): boolean {
  return Boolean(env.ACCESS_TEAM_DOMAIN || env.ACCESS_JWKS);
}

/**
 * Verifies an Access JWT and returns the user's email, or null when it does not verify.
 *
 * @example
 * ```ts
 * const email = await verifyAccessJwt(c.req.header("cf-access-jwt-assertion")!, c.env);
 * ```
 */
export async function verifyAccessJwt(token: string, env: Env): Promise<string | null> {
  if (!accessConfigured(env)) return null;
  if (!env.ACCESS_AUD || !env.ACCESS_TEAM_DOMAIN) {
    throw new DashboardError(
      "ERR_ACCESS_CONFIG",
      "Cloudflare Access is half configured: ACCESS_TEAM_DOMAIN and ACCESS_AUD are both needed",
      {
        fix: "Set ACCESS_TEAM_DOMAIN (<team>.cloudflareaccess.com) and ACCESS_AUD (the application's AUD tag)",
      },
    );
  }
  if (token.length > 8192) return null;
  try {
    const { payload } = await jwtVerify(token, keySet(env), {
      issuer: `https://${env.ACCESS_TEAM_DOMAIN}`,
      audience: env.ACCESS_AUD,
      algorithms: ["RS256"],
      clockTolerance: 30,
    });
    return typeof payload.email === "string" && payload.email ? payload.email : null;
  } catch (err) {
    if (err instanceof DashboardError) throw err;
    return null;
  }
}
