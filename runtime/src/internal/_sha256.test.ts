import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hex, sha256 } from "./_sha256.js";

const utf8 = new TextEncoder();

describe("sha256", () => {
  it("matches the NIST vectors", () => {
    expect(hex(sha256(utf8.encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(hex(sha256(new Uint8Array(0)))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(
      hex(sha256(utf8.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    ).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("matches node:crypto at every length around the block boundaries", () => {
    for (let n = 0; n < 300; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 255);
      expect(hex(sha256(data)), `length ${n}`).toBe(
        createHash("sha256").update(data).digest("hex"),
      );
    }
  });
});
