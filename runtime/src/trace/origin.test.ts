/**
 * Trace origin: the red team's forgeries (anyone holding the public key can seal a trace) each
 * refused with its own code once the app's verification key is registered.
 */
import { encode } from "./_encode.js";
import { describe, expect, it } from "vitest";
import { isFluxError, type FluxErrorCode } from "../errors.js";
import { decodeCbor, encodeCbor } from "./_cbor.js";
import { generateSigningKeys } from "./_sign.js";
import { generateTraceKeys } from "./keys.js";
import type { TraceHead } from "./schema.js";
import { openTrace, readTrace, sealTrace, verifyOrigin } from "./seal.js";

const keys = await generateTraceKeys();
const app = await generateSigningKeys();
const forger = await generateSigningKeys();
const ID = "0123456789abcdef0123456789abcdef";

function head(route = "/orders"): Omit<TraceHead, "recipient" | "version"> {
  return {
    id: ID,
    summary: {
      traceId: ID,
      app: "shop-api",
      route,
      method: "POST",
      status: 201,
      outcome: "ok",
      start: 1_700_000_000_000,
      durationMs: 2,
      eventCounts: { request: 1 },
      fetches: [],
      truncated: false,
      runtime: "workerd",
    },
    events: [{ seq: 0, kind: "request", op: "POST", target: route, at: 0 }],
    masks: { headers: [], fields: [] },
    stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
  };
}

const card = { method: "POST", url: "https://shop.test/orders", headers: [], body: "4111" };
const registered = { "shop-api": app.verifyJwk };

async function code(p: Promise<unknown>): Promise<FluxErrorCode | "none"> {
  try {
    await p;
    return "none";
  } catch (err) {
    if (!isFluxError(err)) throw err;
    return err.code;
  }
}

function outer(bytes: Uint8Array): Record<string, unknown> {
  return decodeCbor(bytes) as Record<string, unknown>;
}

describe("trace origin", () => {
  it("verifies a trace signed by the app's registered key, and opens it", async () => {
    const bytes = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: app.signingJwk,
    });
    expect(readTrace(bytes).head.signer).toBe(app.kid);
    expect(await verifyOrigin(bytes, registered)).toEqual({ status: "verified", signer: app.kid });
    const opened = await openTrace(bytes, keys.privateJwk, { origin: registered });
    expect(opened.origin.status).toBe("verified");
    expect(opened.payloads).toEqual([card]);
  });

  it("refuses a trace forged with the public key alone (unsigned) for an app that signs", async () => {
    const forged = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk);
    expect(await code(verifyOrigin(forged, registered))).toBe("ERR_TRACE_UNSIGNED");
    expect(await code(openTrace(forged, keys.privateJwk, { origin: registered }))).toBe(
      "ERR_TRACE_UNSIGNED",
    );
  });

  it("refuses a trace signed by a key the app did not register", async () => {
    const forged = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: forger.signingJwk,
    });
    expect(await code(verifyOrigin(forged, registered))).toBe("ERR_TRACE_SIGNER");
  });

  it("refuses a real trace re-sealed with other content, or carrying a real signature", async () => {
    const real = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: app.signingJwk,
    });
    const resealed = outer(
      await sealTrace({ head: head(), payloads: [{ ...card, body: "4000" }] }, keys.publicJwk),
    );
    const parts = outer(real);
    // The forger keeps the real head (and so its signer) and the real signature, swaps the seal.
    const swapped = encodeCbor({ ...parts, sealed: resealed.sealed });
    expect(await code(verifyOrigin(swapped, registered))).toBe("ERR_TRACE_SIGNATURE");
    // The other way round: a new head (another route) under the real sealed block and signature.
    const other = outer(
      await sealTrace({ head: head("/admin"), payloads: [card] }, keys.publicJwk, {
        signingKey: forger.signingJwk,
      }),
    );
    const headSwap = decodeCbor(other.head as Uint8Array, { compact: true }) as Record<
      string,
      unknown
    >;
    headSwap.signer = app.kid;
    const relabelled = encodeCbor({ ...parts, head: encode(headSwap, { compact: true }) });
    expect(await code(verifyOrigin(relabelled, registered))).toBe("ERR_TRACE_SIGNATURE");
    // Stripping the signature does not make it pass as unverified either.
    const { sig, ...unsigned } = parts;
    expect(sig).toBeInstanceOf(Uint8Array);
    expect(await code(verifyOrigin(encodeCbor(unsigned), registered))).toBe("ERR_TRACE_UNSIGNED");
  });

  it("reads unsigned traces of apps without a registered key as unverified, visibly", async () => {
    const old = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk);
    expect(await verifyOrigin(old, {})).toEqual({ status: "unverified", reason: "unsigned" });
    const signed = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: app.signingJwk,
    });
    expect(await verifyOrigin(signed, {})).toEqual({ status: "unverified", reason: "no_key" });
    expect((await openTrace(old, keys.privateJwk)).origin.status).toBe("unverified");
  });

  it('takes a "*" key for every app not listed by name', async () => {
    const bytes = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: app.signingJwk,
    });
    expect((await verifyOrigin(bytes, { "*": app.verifyJwk })).status).toBe("verified");
    expect(await code(verifyOrigin(bytes, { "*": forger.verifyJwk }))).toBe("ERR_TRACE_SIGNER");
    expect(
      (await verifyOrigin(bytes, { "shop-api": app.verifyJwk, "*": forger.verifyJwk })).status,
    ).toBe("verified");
  });

  it("refuses a private key registered as a verification key, naming no key material", async () => {
    const bytes = await sealTrace({ head: head(), payloads: [card] }, keys.publicJwk, {
      signingKey: app.signingJwk,
    });
    const err = await verifyOrigin(bytes, { "shop-api": app.signingJwk }).catch((e: unknown) => e);
    expect(isFluxError(err) && err.code).toBe("ERR_KEY_INVALID");
    expect(String((err as Error).message)).not.toContain(app.signingJwk.d);
  });
});
