/**
 * Source maps: the upload API the CLI calls (`POST /api/sourcemaps?app&release&bundle`, an API
 * token of a responder or admin of the app's workspace), the Source maps page with its upload
 * form (`/w/:ws/sourcemaps`), and frame mapping for the execution page's replay report
 * (`POST /api/w/:ws/executions/:trace/sites`). Maps are stored, never executed, never served back.
 * Every upload and refusal is audited (app, release, bundle, size, digest: never map content).
 * @module
 */
import {
  MAX_SOURCE_MAP_BYTES,
  RELEASE,
  SourceMapUpload,
  type CallSite,
  type SourceMapUploaded,
} from "fluxrun/contract";
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { atLeast } from "../auth/roles.js";
import { roleIn } from "../db/users.js";
import { appsOf, appWorkspace } from "../db/workspaces.js";
import { getExecution } from "../db/executions.js";
import { saveSourceMap, sourceMapsOf } from "../sourcemaps/store.js";
import { siteMapper } from "../sourcemaps/mapper.js";
import { sourceMapsView } from "../views/sourcemaps.js";
import { stateBox } from "../views/layout.js";
import type { Html } from "../views/html.js";
import { checkWorkspace, render, requirePrincipal, wsAccess } from "./_shared.js";

/** Bytes of a multipart form around one map (boundaries, the other fields). */
const FORM_OVERHEAD = 64 * 1024;

function tooLarge(): DashboardError {
  return new DashboardError(
    "ERR_SOURCE_MAP_TOO_LARGE",
    `The source map is over ${MAX_SOURCE_MAP_BYTES / 1024 / 1024} MiB`,
    { fix: "Upload the map of one bundle file; build without sourcesContent to make it smaller" },
  );
}

/** The request body as text, refused once it passes `max` bytes (before it is all read). */
async function cappedText(c: Context<AppEnv>, max: number): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const reader = c.req.raw.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) (all.set(chunk, at), (at += chunk.byteLength));
  return new TextDecoder().decode(all);
}

/** The upload's query, or ERR_BAD_REQUEST naming the field. */
function uploadQuery(values: Record<string, string | undefined>): SourceMapUpload {
  const query = {
    app: values.app ?? "",
    bundle: values.bundle ?? "",
    ...(values.release ? { release: values.release } : {}),
  };
  const parsed = SourceMapUpload.safeParse(query);
  if (parsed.success) return parsed.data;
  const field = String(parsed.error.issues[0]?.path[0] ?? "query");
  const fix: Record<string, string> = {
    app: "Name the app as in withFlux({ app }) (letters, digits, dot, dash, underscore)",
    release: "A release is 1 to 128 printable characters without spaces, as the app records it",
    bundle: "Name the bundle file the frames carry (e.g. index.js), as in the map's `file`",
  };
  throw new DashboardError("ERR_BAD_REQUEST", `Invalid source-map upload: bad ${field}`, {
    fix: fix[field] ?? "Send app, bundle and (optionally) release",
  });
}

/**
 * Stores one map for `query.app` in `ws` after the caller's role there is checked, auditing the
 * upload or its refusal.
 */
async function upload(
  c: Context<AppEnv>,
  clock: Clock,
  ws: string,
  query: SourceMapUpload,
  text: () => Promise<string>,
): Promise<SourceMapUploaded> {
  const p = requirePrincipal(c);
  const detail = { app: query.app, release: query.release ?? null, bundle: query.bundle };
  const deny = async (reason: string, err: DashboardError): Promise<never> => {
    await c.var.audit("sourcemap.denied", {
      ws,
      target: query.app,
      allowed: false,
      reason,
      detail: { ...detail, code: err.code },
    });
    throw err;
  };
  const role = await roleIn(c.env.DB, ws, p.userId);
  if (!role || !atLeast(role, "responder")) {
    return deny(
      `role ${role ?? "none"}`,
      new DashboardError(
        "ERR_FORBIDDEN",
        `Uploading source maps needs the responder role; you are ${role ?? "not a member"}`,
        { fix: "Ask a workspace admin for the responder role" },
      ),
    );
  }
  const bucket = c.env.FLUX_TRACES;
  if (!bucket) {
    throw new DashboardError("ERR_BINDING_MISSING", "The dashboard has no FLUX_TRACES bucket", {
      fix: "Bind the trace bucket as FLUX_TRACES in dashboard/wrangler.toml",
    });
  }
  try {
    const saved = await saveSourceMap(c.env.DB, bucket, await text(), {
      ...query,
      ws,
      by: p.email,
      now: clock.now(),
    });
    await c.var.audit("sourcemap.uploaded", {
      ws,
      target: query.app,
      allowed: true,
      detail: { ...detail, bytes: saved.bytes, sha256: saved.sha256, replaced: saved.replaced },
    });
    return saved;
  } catch (err) {
    if (err instanceof DashboardError && err.code.startsWith("ERR_SOURCE_MAP_"))
      return deny(err.code === "ERR_SOURCE_MAP_TOO_LARGE" ? "too large" : "invalid map", err);
    throw err;
  }
}

const Frames = z.object({
  frames: z
    .array(z.tuple([z.string(), z.string(), z.int(), z.int()]))
    .check(z.minLength(1), z.maxLength(64)),
  /** The release whose maps to use (the replayed build's); default: the execution's. */
  release: z.optional(z.string().check(z.regex(RELEASE))),
});

/** `/api` routes: the CLI's upload, and frame mapping for the execution page. */
export function sourceMapApi(clock: Clock): Hono<AppEnv> {
  const api = new Hono<AppEnv>();

  api.post("/sourcemaps", async (c) => {
    requirePrincipal(c);
    const query = uploadQuery(c.req.query());
    const ws = await appWorkspace(c.env.DB, query.app);
    const member = ws ? await roleIn(c.env.DB, ws, requirePrincipal(c).userId) : null;
    if (!ws || !member) {
      throw new DashboardError("ERR_NOT_FOUND", "No such app in your workspaces", {
        fix: "Register the app in Admin → Apps of its workspace, or check --app",
      });
    }
    const saved = await upload(c, clock, ws, query, () => cappedText(c, MAX_SOURCE_MAP_BYTES));
    return c.json(saved satisfies SourceMapUploaded, 201);
  });

  api.post("/w/:ws/executions/:trace/sites", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const row = await getExecution(c.env.DB, ws, c.req.param("trace"));
    if (!row) throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace");
    let raw: unknown;
    try {
      raw = JSON.parse(await cappedText(c, 64 * 1024));
    } catch (cause) {
      if (cause instanceof DashboardError) throw cause;
      throw new DashboardError("ERR_BAD_REQUEST", "The request body is not JSON", { cause });
    }
    const parsed = Frames.safeParse(raw);
    if (!parsed.success) {
      throw new DashboardError(
        "ERR_BAD_REQUEST",
        "Send { frames: [[fn, file, line, column]], release? } (at most 64 frames)",
      );
    }
    const mapper = await siteMapper(c.env.DB, c.env.FLUX_TRACES, {
      ws,
      app: row.app,
      release: parsed.data.release ?? row.release ?? null,
    });
    const frames = await mapper.mapFrames(parsed.data.frames as CallSite[]);
    return c.json({ release: mapper.release, mapped: mapper.maps.length > 0, frames });
  });

  return api;
}

/** Renders the Source maps page of the route's workspace. */
async function showPage(
  c: Context<AppEnv>,
  flash: Html | null = null,
  status: 200 | 400 | 403 | 404 | 413 | 422 = 200,
): Promise<Response> {
  const ws = c.get("ws");
  const [apps, maps] = await Promise.all([appsOf(c.env.DB, ws), sourceMapsOf(c.env.DB, ws)]);
  const body = sourceMapsView({
    ws,
    apps: apps.map((a) => a.name),
    maps,
    canUpload: atLeast(c.get("role"), "responder"),
    origin: new URL(c.req.url).origin,
    maxBytes: MAX_SOURCE_MAP_BYTES,
    flash,
  });
  return render(c, { title: "Source maps", ws, active: "admin" }, body, { status });
}

/** `/w/:ws/sourcemaps`: the list (every member) and the upload form (responders and admins). */
export function sourceMapPages(clock: Clock): Hono<AppEnv> {
  const pages = new Hono<AppEnv>();
  pages.get("/w/:ws/sourcemaps", wsAccess("viewer"), (c) => showPage(c));
  pages.post("/w/:ws/sourcemaps", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    await checkWorkspace(c, ws, "viewer");
    let form: FormData;
    try {
      const declared = Number(c.req.header("content-length") ?? "NaN");
      if (Number.isFinite(declared) && declared > MAX_SOURCE_MAP_BYTES + FORM_OVERHEAD)
        throw tooLarge();
      form = await c.req.formData();
    } catch (err) {
      if (err instanceof DashboardError) {
        return showPage(c, stateBox("bad", err.message, err.fix ?? "", { code: err.code }), 413);
      }
      throw new DashboardError("ERR_BAD_REQUEST", "The upload form could not be read");
    }
    const text = (name: string): string | undefined => {
      const v = form.get(name);
      return typeof v === "string" && v.trim() ? v.trim() : undefined;
    };
    // workers-types declare entries as strings; a file field is a File (Blob with a name).
    const file = form.get("map") as unknown as File | string | null;
    if (!file || typeof file === "string") {
      return showPage(
        c,
        stateBox("bad", "Choose a .map file to upload", "", { code: "ERR_BAD_REQUEST" }),
        400,
      );
    }
    const bundle = text("bundle") ?? file.name.replace(/\.map$/, "");
    let query: SourceMapUpload;
    try {
      query = uploadQuery({ app: text("app"), release: text("release"), bundle });
      if (!(await appsOf(c.env.DB, ws)).some((a) => a.name === query.app))
        throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
      if (file.size > MAX_SOURCE_MAP_BYTES) throw tooLarge();
    } catch (err) {
      if (!(err instanceof DashboardError)) throw err;
      return showPage(
        c,
        stateBox("bad", err.message, err.fix ?? "", { code: err.code }),
        err.status === 413 ? 413 : err.status === 404 ? 404 : 400,
      );
    }
    try {
      const saved = await upload(c, clock, ws, query, () => file.text());
      return showPage(
        c,
        stateBox(
          "good",
          saved.replaced ? "Source map replaced" : "Source map uploaded",
          `${saved.app} ${saved.release ? `release ${saved.release}` : "(no release)"} · ${saved.bundle} · ${saved.sources} sources. Frames of its executions now show in source.`,
          { id: "upload-done" },
        ),
      );
    } catch (err) {
      if (!(err instanceof DashboardError)) throw err;
      return showPage(
        c,
        stateBox("bad", err.message, err.fix ?? "", { code: err.code }),
        err.status === 413 ? 413 : err.status === 403 ? 403 : 422,
      );
    }
  });
  return pages;
}
