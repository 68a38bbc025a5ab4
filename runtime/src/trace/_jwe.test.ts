import { describe, expect, it } from "vitest";
import { compactDecrypt, decodeProtectedHeader } from "jose";
import { wrapKey } from "./_jwe.js";
import { generateTraceKeys, importTraceKey } from "./keys.js";

describe("the Web Crypto JWE", () => {
  it("is opened by jose's compactDecrypt with the private key", async () => {
    const { publicJwk, privateJwk, kid } = await generateTraceKeys();
    const key = crypto.getRandomValues(new Uint8Array(32));
    const jwe = await wrapKey(key, { x: publicJwk.x, kid });
    expect(decodeProtectedHeader(jwe)).toMatchObject({
      alg: "ECDH-ES+A256KW",
      enc: "A256GCM",
      kid,
    });
    const { plaintext } = await compactDecrypt(jwe, await importTraceKey(privateJwk), {
      keyManagementAlgorithms: ["ECDH-ES+A256KW"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    expect(plaintext).toEqual(key);
  });

  it("cannot be opened with another key", async () => {
    const a = await generateTraceKeys();
    const b = await generateTraceKeys();
    const jwe = await wrapKey(new Uint8Array(32), { x: a.publicJwk.x, kid: a.kid });
    await expect(compactDecrypt(jwe, await importTraceKey(b.privateJwk))).rejects.toThrow();
  });
});
