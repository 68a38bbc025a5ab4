/**
 * The pairing contract's pure parts: claim codes (alphabet, entropy, typing forgiveness) and the
 * two MACs keyed by the code (round trip; any other code, nonce or byte fails).
 */
import { describe, expect, it } from "vitest";
import {
  CLAIM_CODE_ALPHABET,
  CLAIM_CODE_LENGTH,
  formatClaimCode,
  newClaimCode,
  normalizeClaimCode,
  pairingKey,
  pairingMacs,
} from "./pairing.js";

describe("claim codes", () => {
  it("hold at least 40 bits from an alphabet without look-alikes", () => {
    expect(new Set(CLAIM_CODE_ALPHABET).size).toBe(32);
    expect(CLAIM_CODE_LENGTH * Math.log2(CLAIM_CODE_ALPHABET.length)).toBeGreaterThanOrEqual(40);
    expect(CLAIM_CODE_ALPHABET).not.toMatch(/[ILOU]/);
    const codes = new Set(Array.from({ length: 200 }, () => newClaimCode()));
    expect(codes.size).toBe(200);
    for (const c of codes) expect(formatClaimCode(c)).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  });

  it("uses every symbol of the alphabet (no modulo bias: 256 is a multiple of 32)", () => {
    let i = 0;
    const code = newClaimCode((b) => b.map(() => i++ * 9));
    expect(code).toHaveLength(CLAIM_CODE_LENGTH);
    expect(newClaimCode((b) => b.fill(31))).toBe("ZZZZZZZZ");
    expect(newClaimCode((b) => b.fill(255))).toBe("ZZZZZZZZ");
  });

  it.each([
    ["abcd-efgh", "ABCDEFGH"],
    [" 7QK2 M9XD ", "7QK2M9XD"],
    ["IL0O-1234", "11001234"],
  ])("reads %j as %j", (typed, canonical) => {
    expect(normalizeClaimCode(typed)).toBe(canonical);
  });

  it.each(["", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFGU", "ABCD_EFGH", "ABCD-EFG\u0000", "🙂🙂🙂🙂"])(
    "refuses %j",
    (typed) => {
      expect(normalizeClaimCode(typed)).toBeNull();
    },
  );
});

describe("pairing MACs", () => {
  const fields = { pairing: "p-123456", agentId: "local-1", thumbprint: "tp", dashboardNonce: "n" };

  it("verify with the same code and nonce only", async () => {
    const key = await pairingKey("ABCDEFGH", "nonce-0000000000000000");
    const offer = JSON.stringify({ v: 1, ws: "default" });
    const tag = await pairingMacs.offer(key, offer);
    expect(tag).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await pairingMacs.verifyOffer(key, offer, tag)).toBe(true);
    const otherCode = await pairingKey("ABCDEFGJ", "nonce-0000000000000000");
    const otherNonce = await pairingKey("ABCDEFGH", "nonce-0000000000000001");
    expect(await pairingMacs.verifyOffer(otherCode, offer, tag)).toBe(false);
    expect(await pairingMacs.verifyOffer(otherNonce, offer, tag)).toBe(false);
    expect(await pairingMacs.verifyOffer(key, offer.replace("default", "evil"), tag)).toBe(false);

    const confirm = await pairingMacs.confirmation(key, fields);
    expect(await pairingMacs.verifyConfirmation(key, fields, confirm)).toBe(true);
    expect(
      await pairingMacs.verifyConfirmation(key, { ...fields, agentId: "local-2" }, confirm),
    ).toBe(false);
    // The two MACs are domain-separated: an offer's tag never passes as a confirmation.
    expect(await pairingMacs.verifyConfirmation(key, fields, tag)).toBe(false);
  });
});
