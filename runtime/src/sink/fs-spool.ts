/**
 * The disk spool for `httpSink` on Node and Deno: one file per trace in a directory, kept across
 * restarts, bounded by count and bytes. Each file is written under a temporary name and renamed,
 * so a crash never leaves half a trace to send. Operations run one at a time, in call order, so
 * what is kept when the spool fills up does not depend on timing. One process per directory.
 * @module
 */
import { INGEST_LIMITS, SpooledTrace } from "../contract/ingest.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { loadFs, type FsPromises } from "./_fs.js";
import type { Respool, SpoolAdmission, TraceSpool } from "./_spool.js";
import type { SealedTrace } from "./_sink.js";

export interface FsSpoolOptions {
  /** Traces held at most; more are dropped as `spool_full`. Default 10 000. */
  maxTraces?: number;
  /** Bytes held at most. Default 512 MiB. */
  maxBytes?: number;
  /** File mode. Default `0o600`. */
  mode?: number;
}

const SUFFIX = ".spool";

/** A spool file's trace, or undefined when the file is not one. */
async function readSpooled(fs: FsPromises, path: string): Promise<SealedTrace | undefined> {
  try {
    const raw = decodeCbor(await fs.readFile(path), {
      limits: { maxBytes: INGEST_LIMITS.maxTraceBytes + 64 * 1024 },
      what: "spool file",
    });
    const parsed = SpooledTrace.safeParse(raw);
    if (!parsed.success) return undefined;
    const { key, bytes, summary } = parsed.data;
    return { key, bytes, summary };
  } catch {
    return undefined;
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`fsSpool option \`${name}\` must be a positive integer`);
  }
  return v;
}

/**
 * A spool directory for {@link httpSink}'s `spool` option. Deno needs `--allow-read --allow-write`
 * on it.
 *
 * @example
 * ```ts
 * import { httpSink, fsSpool } from "fluxrun/node";
 * const sink = httpSink({ url, token, spool: fsSpool("./.fluxrun/spool", { maxTraces: 5000 }) });
 * ```
 */
export function fsSpool(dir: string, options: FsSpoolOptions = {}): TraceSpool {
  if (typeof dir !== "string" || dir.length === 0) {
    throw new TypeError("fsSpool needs a directory path");
  }
  const root = dir.endsWith("/") ? dir.slice(0, -1) : dir;
  const maxTraces = positive("maxTraces", options.maxTraces, 10_000);
  const maxBytes = positive("maxBytes", options.maxBytes, 512 * 1024 * 1024);
  const mode = options.mode ?? 0o600;
  /** Files held and their sizes, read from the directory on first use. */
  let index: Promise<Map<string, number>> | undefined;
  let bytes = 0;
  let chain: Promise<unknown> = Promise.resolve();

  /** Runs `op` after every operation called before it. */
  function serial<T>(op: () => Promise<T>): Promise<T> {
    const next = chain.then(op, op);
    chain = next.catch(() => {});
    return next;
  }

  async function files(fs: FsPromises): Promise<Map<string, number>> {
    index ??= (async () => {
      await fs.mkdir(root, { recursive: true });
      const held = new Map<string, number>();
      for (const name of (await fs.readdir(root)).sort()) {
        if (!name.endsWith(SUFFIX)) continue;
        const size = (await fs.stat(`${root}/${name}`)).size;
        held.set(name, size);
        bytes += size;
      }
      return held;
    })();
    return index;
  }

  return {
    name: "fs",
    put: (trace: SealedTrace) =>
      serial(async (): Promise<SpoolAdmission> => {
        const fs = await loadFs();
        const held = await files(fs);
        const data = encodeCbor({
          fluxrun: "spool/1",
          key: trace.key,
          bytes: trace.bytes,
          summary: trace.summary,
        } satisfies SpooledTrace);
        if (data.length > maxBytes) return "too_large";
        if (held.size >= maxTraces || bytes + data.length > maxBytes) return "spool_full";
        // Named by start time, so the oldest are sent first.
        const start = String(trace.summary.start).padStart(15, "0");
        const name = `${start}-${trace.summary.traceId.replace(/[^0-9a-zA-Z]/g, "")}${SUFFIX}`;
        if (held.has(name)) return "kept";
        const tmp = `${root}/${name}.tmp`;
        await fs.writeFile(tmp, data, { mode });
        await fs.rename(tmp, `${root}/${name}`);
        held.set(name, data.length);
        bytes += data.length;
        return "kept";
      }),
    take: (max: number) =>
      serial(async (): Promise<Respool[]> => {
        const fs = await loadFs();
        const held = await files(fs);
        const out: Respool[] = [];
        for (const name of [...held.keys()].sort()) {
          if (out.length >= max) break;
          const trace = await readSpooled(fs, `${root}/${name}`);
          if (trace) out.push({ trace, ref: name });
          else {
            // Not a spool file this version reads: set aside (kept for inspection), never sent.
            await fs.rename(`${root}/${name}`, `${root}/${name}.unreadable`);
            bytes -= held.get(name) ?? 0;
            held.delete(name);
          }
        }
        return out;
      }),
    remove: (refs: readonly string[]) =>
      serial(async () => {
        const fs = await loadFs();
        const held = await files(fs);
        for (const name of refs) {
          await fs.rm(`${root}/${name}`, { force: true });
          bytes -= held.get(name) ?? 0;
          held.delete(name);
        }
      }),
  };
}
