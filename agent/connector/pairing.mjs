// Claim-code pairing, the connector's side (Node). The connector prints a short claim code; the
// browser carries the dashboard's MACed offer to it (`POST /v1/pair`, forwarded by the agent
// worker to the FLUX_CONNECTOR service binding answered here). Accepted pairings live in
// .fluxrun/pairing.json (0600: ids, workspaces and the dashboard's *public* token keys only);
// every pairing event goes to .fluxrun/pairing-audit.ndjson without the code.
import { existsSync } from "node:fs";
import { appendFile, chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint } from "jose";
import {
  CLAIM_CODE_MAX_ATTEMPTS,
  CLAIM_CODE_TTL_S,
  PAIRING_AGENT_ERRORS,
  PairingOffer,
  PairingOfferEnvelope,
  formatClaimCode,
  newClaimCode,
  pairingKey,
  pairingMacs,
} from "fluxrun/contract";

export const PAIRING_FILE = ".fluxrun/pairing.json";
export const PAIRING_AUDIT_FILE = ".fluxrun/pairing-audit.ndjson";

/** A pairing refusal with a code of the contract (`PAIRING_AGENT_ERRORS`). */
export class PairingError extends Error {
  name = "PairingError";
  constructor(code, message) {
    super(message);
    this.code = code;
  }
  get status() {
    return PAIRING_AGENT_ERRORS[this.code] ?? 400;
  }
  toJSON() {
    return { error: { code: this.code, message: this.message } };
  }
}

function randomId(bytes = 16) {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

/** The pairing state in `.fluxrun/pairing.json` of `cwd`, or a fresh one (not yet written). */
export async function readPairings(cwd) {
  const file = join(cwd, PAIRING_FILE);
  if (!existsSync(file)) return { v: 1, agentId: null, pairings: [] };
  try {
    const state = JSON.parse(await readFile(file, "utf8"));
    if (state?.v !== 1 || !Array.isArray(state.pairings)) throw new Error("shape");
    return state;
  } catch {
    throw Object.assign(new Error(`${PAIRING_FILE} is not a pairing file`), {
      code: "ERR_CONFIG",
    });
  }
}

/** Writes the state 0600 (whole file replaced, never half-written). */
export async function writePairings(cwd, state) {
  await mkdir(join(cwd, ".fluxrun"), { recursive: true });
  const file = join(cwd, PAIRING_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** One pairing event, names and ids only (never the code, never a key). */
export async function auditPairing(cwd, event, now = Date.now()) {
  await mkdir(join(cwd, ".fluxrun"), { recursive: true });
  const file = join(cwd, PAIRING_AUDIT_FILE);
  await appendFile(file, `${JSON.stringify({ at: new Date(now).toISOString(), ...event })}\n`, {
    mode: 0o600,
  });
}

/** The trust the agent worker applies: each live pairing's workspace and dashboard keys. */
export function trustOf(state) {
  return {
    paired: true,
    pairings: state.pairings.map((p) => ({
      id: p.id,
      ws: p.ws,
      dashboard: p.dashboard,
      jwks: p.jwks,
      revoked: p.revokedAt !== null && p.revokedAt !== undefined,
    })),
  };
}

/**
 * Revokes a pairing by id (or id prefix of at least 6 characters). Returns the revoked pairing,
 * or null when none matches.
 */
export async function revokePairing(cwd, id, options = {}) {
  const now = options.now ?? Date.now();
  const state = await readPairings(cwd);
  const match = state.pairings.filter(
    (p) => p.id === id || (id.length >= 6 && p.id.startsWith(id)),
  );
  if (match.length !== 1) return null;
  const pairing = match[0];
  if (!pairing.revokedAt) {
    pairing.revokedAt = now;
    await writePairings(cwd, state);
    await auditPairing(cwd, { event: "revoked", pairing: pairing.id, ws: pairing.ws }, now);
  }
  return pairing;
}

/**
 * One claim code and the exchange it allows: at most {@link CLAIM_CODE_TTL_S} old, used once,
 * burnt after {@link CLAIM_CODE_MAX_ATTEMPTS} wrong MACs. `now` and `random` are injectable.
 */
export class ClaimCode {
  #code;
  #attempts = 0;
  #claimedBy = null;
  #now;

  constructor(options = {}) {
    this.#now = options.now ?? (() => Date.now());
    this.#code = options.code ?? newClaimCode(options.random);
    this.nonce = options.nonce ?? randomId();
    this.expiresAt = Math.floor(this.#now() / 1000) + CLAIM_CODE_TTL_S;
  }

  /** The code as shown to the user, `XXXX-XXXX`. */
  get display() {
    return formatClaimCode(this.#code);
  }

  get state() {
    if (this.#claimedBy) return "used";
    if (this.#attempts >= CLAIM_CODE_MAX_ATTEMPTS) return "burnt";
    if (Math.floor(this.#now() / 1000) > this.expiresAt) return "expired";
    return "waiting";
  }

  /**
   * Checks an offer envelope against this code for connector `agentId`. Returns the parsed offer
   * and K; throws a PairingError with the specific code. Claiming is synchronous after the MAC
   * check, so of two concurrent valid offers exactly one wins.
   */
  async redeem(envelope, agentId) {
    const parsedEnvelope = PairingOfferEnvelope.safeParse(envelope);
    if (!parsedEnvelope.success)
      throw new PairingError("ERR_PAIR_OFFER", "The pairing request is not an offer envelope");
    const { offer: text, mac, pairing } = parsedEnvelope.data;
    if (this.#claimedBy === pairing)
      throw new PairingError("ERR_PAIR_CODE_USED", "This pairing was already accepted");
    if (this.#claimedBy)
      throw new PairingError(
        "ERR_PAIR_RACED",
        "Another pairing claimed this code first; start `fluxrun agent --pair` for a new one",
      );
    if (this.#attempts >= CLAIM_CODE_MAX_ATTEMPTS)
      throw new PairingError(
        "ERR_PAIR_CODE_BURNT",
        "Too many wrong codes: this claim code is burnt; start `fluxrun agent --pair` for a new one",
      );
    if (Math.floor(this.#now() / 1000) > this.expiresAt)
      throw new PairingError(
        "ERR_PAIR_CODE_EXPIRED",
        "The claim code has expired; start `fluxrun agent --pair` for a new one",
      );
    const key = await pairingKey(this.#code, this.nonce);
    if (!(await pairingMacs.verifyOffer(key, text, mac))) {
      this.#attempts++;
      throw new PairingError(
        this.#attempts >= CLAIM_CODE_MAX_ATTEMPTS ? "ERR_PAIR_CODE_BURNT" : "ERR_PAIR_CODE_WRONG",
        this.#attempts >= CLAIM_CODE_MAX_ATTEMPTS
          ? "Wrong claim code; too many wrong codes: it is burnt"
          : "Wrong claim code",
      );
    }
    let offer;
    try {
      offer = PairingOffer.parse(JSON.parse(text));
    } catch {
      throw new PairingError("ERR_PAIR_OFFER", "The offer is not a pairing offer");
    }
    if (offer.pairing !== pairing || offer.agentId !== agentId || offer.agentNonce !== this.nonce)
      throw new PairingError("ERR_PAIR_OFFER", "The offer is for another connector or code");
    if (Math.floor(this.#now() / 1000) > offer.exp)
      throw new PairingError("ERR_PAIR_CODE_EXPIRED", "The dashboard's offer has expired");
    if (this.#claimedBy)
      throw new PairingError("ERR_PAIR_RACED", "Another pairing claimed this code first");
    this.#claimedBy = pairing;
    return { offer, key };
  }
}

/**
 * The Node side of the connector's pairing: the claim code (if one is shown), the persisted
 * pairings, and the FLUX_CONNECTOR service binding's handler (`/hello`, `/pair`, `/trust`).
 */
export class PairingHost {
  #cwd;
  #now;
  #code = null;

  constructor(options) {
    this.#cwd = options.cwd;
    this.#now = options.now ?? (() => Date.now());
    this.agentId = options.agentId;
    this.signingPublicJwk = options.signingPublicJwk;
    this.onPaired = options.onPaired ?? (() => {});
  }

  /** Shows a new claim code (replacing any earlier one) and returns it for printing. */
  async newCode(options = {}) {
    this.#code = new ClaimCode({ now: this.#now, ...options });
    await auditPairing(
      this.#cwd,
      { event: "code.issued", agentId: this.agentId, expiresAt: this.#code.expiresAt },
      this.#now(),
    );
    return { display: this.#code.display, expiresAt: this.#code.expiresAt };
  }

  async #pair(envelope) {
    if (!this.#code)
      throw new PairingError(
        "ERR_PAIR_NO_CODE",
        "This connector shows no claim code: start it with `fluxrun agent --pair`",
      );
    const { offer, key } = await this.#code.redeem(envelope, this.agentId);
    const state = await readPairings(this.#cwd);
    const now = this.#now();
    state.agentId ??= this.agentId;
    state.pairings = state.pairings.filter((p) => p.id !== offer.pairing);
    state.pairings.push({
      id: offer.pairing,
      ws: offer.ws,
      sub: offer.sub,
      dashboard: offer.dashboard,
      jwks: offer.jwks,
      createdAt: now,
      revokedAt: null,
    });
    await writePairings(this.#cwd, state);
    const thumbprint = await calculateJwkThumbprint(this.signingPublicJwk);
    const mac = await pairingMacs.confirmation(key, {
      pairing: offer.pairing,
      agentId: this.agentId,
      thumbprint,
      dashboardNonce: offer.dashboardNonce,
    });
    await auditPairing(
      this.#cwd,
      { event: "paired", pairing: offer.pairing, ws: offer.ws, sub: offer.sub },
      now,
    );
    this.onPaired(offer);
    return { pairing: offer.pairing, agentId: this.agentId, mac };
  }

  /** The FLUX_CONNECTOR service binding: the agent worker's only way to the Node side. */
  async fetch(request) {
    const path = new URL(request.url).pathname;
    const json = (body, status = 200) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      });
    if (path === "/trust") return json(trustOf(await readPairings(this.#cwd)));
    if (path === "/hello") {
      if (!this.#code || this.#code.state !== "waiting")
        return json(
          new PairingError(
            "ERR_PAIR_NO_CODE",
            "This connector shows no live claim code: start it with `fluxrun agent --pair`",
          ).toJSON(),
          409,
        );
      await auditPairing(this.#cwd, { event: "requested", agentId: this.agentId }, this.#now());
      return json({
        agentId: this.agentId,
        signingKey: this.signingPublicJwk,
        nonce: this.#code.nonce,
        expiresAt: this.#code.expiresAt,
      });
    }
    if (path === "/pair" && request.method === "POST") {
      let envelope;
      try {
        envelope = await request.json();
      } catch {
        envelope = null;
      }
      try {
        return json(await this.#pair(envelope));
      } catch (err) {
        const e =
          err instanceof PairingError
            ? err
            : new PairingError("ERR_PAIR_OFFER", "The pairing failed inside the connector");
        await auditPairing(
          this.#cwd,
          {
            event: "refused",
            code: e.code,
            pairing: typeof envelope?.pairing === "string" ? envelope.pairing.slice(0, 64) : null,
          },
          this.#now(),
        );
        return json(e.toJSON(), e.status);
      }
    }
    return json({ error: { code: "ERR_BAD_REQUEST", message: "No such connector route" } }, 400);
  }
}
