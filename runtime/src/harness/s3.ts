/**
 * A minimal client for R2's S3-compatible API: AWS Signature Version 4 (header auth), and the
 * three calls `fluxrun pull` needs (ListObjectsV2, HeadObject, GetObject), path-style.
 * Credentials are read from the environment only and never appear in errors.
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { FluxError } from "../errors.js";

/** Where and as whom to reach the S3 API. */
export interface S3Credentials {
  /** `https://<account>.r2.cloudflarestorage.com` for R2. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `auto` for R2. */
  region: string;
  sessionToken?: string;
}

/** A request to sign. `headers` keys are lowercase; `host` is taken from the URL. */
export interface UnsignedRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body; default: that of an empty body. */
  payloadHash?: string;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function sha256Hex(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * Signs a request with AWS Signature Version 4 for service `s3` and returns the headers to send
 * (`authorization`, `x-amz-date`, `x-amz-content-sha256`, and the given ones).
 *
 * @example
 * ```ts
 * const headers = signRequest({ method: "GET", url: new URL(`${endpoint}/bucket/key`) }, creds, new Date());
 * await fetch(url, { headers });
 * ```
 */
export function signRequest(
  request: UnsignedRequest,
  credentials: Pick<S3Credentials, "accessKeyId" | "secretAccessKey" | "region" | "sessionToken">,
  now: Date,
): Record<string, string> {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const payloadHash = request.payloadHash ?? EMPTY_SHA256;
  const headers: Record<string, string> = {
    ...(request.headers ?? {}),
    host: request.url.host,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": date,
    ...(credentials.sessionToken ? { "x-amz-security-token": credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names
    .map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const signedHeaders = names.join(";");
  const path = request.url.pathname
    .split("/")
    .map((seg) => uriEncode(decodeURIComponent(seg)))
    .join("/");
  const query = [...request.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    request.method,
    path || "/",
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(canonicalRequest)].join("\n");
  const kDate = hmac(`AWS4${credentials.secretAccessKey}`, day);
  const kSigning = hmac(hmac(hmac(kDate, credentials.region), "s3"), "aws4_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
  const { host: _host, ...send } = lower;
  return {
    ...send,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** One listed object. */
export interface S3Object {
  key: string;
  size: number;
}

function xmlText(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, "&");
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : xmlText(m[1]);
}

/**
 * One bucket over the S3 API.
 *
 * @example
 * ```ts
 * const bucket = new S3Bucket(credentials, "fluxrun-traces");
 * for await (const o of bucket.list("traces/shop-api/")) console.log(o.key);
 * ```
 */
export class S3Bucket {
  readonly #credentials: S3Credentials;
  readonly #bucket: string;
  readonly #now: () => Date;

  constructor(credentials: S3Credentials, bucket: string, options: { now?: () => Date } = {}) {
    this.#credentials = credentials;
    this.#bucket = bucket;
    this.#now = options.now ?? (() => new Date());
  }

  async #send(method: string, url: URL, what: string): Promise<Response> {
    const headers = signRequest({ method, url }, this.#credentials, this.#now());
    let res: Response;
    try {
      res = await fetch(url, { method, headers, redirect: "error" });
    } catch (cause) {
      throw new FluxError(
        "ERR_CONFIG",
        `Could not reach ${url.origin} to ${what}; check R2_ENDPOINT (or CLOUDFLARE_ACCOUNT_ID)`,
        { cause },
      );
    }
    if (res.ok) return res;
    const body = method === "HEAD" ? "" : await res.text().catch(() => "");
    const code = tag(body, "Code") ?? String(res.status);
    const hint =
      res.status === 403 || code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch"
        ? ": check R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY (an R2 API token with read access to the bucket)"
        : code === "NoSuchBucket"
          ? `: no bucket ${this.#bucket} at ${url.origin}`
          : "";
    throw new FluxError(
      "ERR_CONFIG",
      `R2 refused to ${what} (${res.status} ${code.slice(0, 64)})${hint}`,
    );
  }

  #url(key?: string): URL {
    const base = this.#credentials.endpoint.replace(/\/+$/, "");
    const path = key === undefined ? "" : `/${key.split("/").map(uriEncode).join("/")}`;
    return new URL(`${base}/${uriEncode(this.#bucket)}${path}`);
  }

  /** Every object under `prefix`, in key order, page by page. */
  async *list(prefix: string): AsyncGenerator<S3Object> {
    let token: string | undefined;
    do {
      const url = this.#url();
      url.searchParams.set("list-type", "2");
      url.searchParams.set("prefix", prefix);
      if (token) url.searchParams.set("continuation-token", token);
      const xml = await (await this.#send("GET", url, `list ${this.#bucket}`)).text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = tag(m[1] ?? "", "Key");
        if (key !== undefined) yield { key, size: Number(tag(m[1] ?? "", "Size") ?? 0) };
      }
      token = tag(xml, "IsTruncated") === "true" ? tag(xml, "NextContinuationToken") : undefined;
    } while (token);
  }

  /** The object's custom metadata (`x-amz-meta-*`, names lowercase as HTTP delivers them). */
  async metadata(key: string): Promise<Record<string, string>> {
    const res = await this.#send("HEAD", this.#url(key), `read ${key}`);
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (k.startsWith("x-amz-meta-")) out[k.slice("x-amz-meta-".length)] = v;
    });
    return out;
  }

  /** The object's bytes. */
  async get(key: string): Promise<Uint8Array> {
    const res = await this.#send("GET", this.#url(key), `read ${key}`);
    return new Uint8Array(await res.arrayBuffer());
  }
}
