// Seal throughput inside workerd: XChaCha20-Poly1305 (@noble/ciphers) vs WebCrypto AES-256-GCM.
// workerd's clocks do not advance during pure computation, so timing is taken outside: a request
// runs `n` seals of `size` bytes, and the caller compares round trips with n and with 0.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";

const key = new Uint8Array(32).fill(7);
let aesKey: CryptoKey | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const size = Number(url.searchParams.get("size"));
    const n = Number(url.searchParams.get("n"));
    const algo = url.searchParams.get("algo");
    const data = new Uint8Array(size).fill(1);
    let sink = 0;
    if (algo === "xchacha") {
      for (let i = 0; i < n; i++) {
        const nonce = crypto.getRandomValues(new Uint8Array(24));
        sink += xchacha20poly1305(key, nonce).encrypt(data).length;
      }
    } else {
      aesKey ??= await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
      for (let i = 0; i < n; i++) {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        sink += (await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aesKey, data)).byteLength;
      }
    }
    return new Response(String(sink));
  },
};
