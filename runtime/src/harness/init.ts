/**
 * `fluxrun init`: adds FluxRun to an existing Workers app. Makes the trace key pair (private half
 * in the git-ignored `.fluxrun/`), adds the `FLUX_TRACES` R2 binding, `FLUX_PUBLIC_KEY` and
 * `nodejs_compat` to the wrangler config with comments and layout kept, wraps the default export
 * when that is safe, and says what to run next. Idempotent; `dryRun` shows the diff only.
 *
 * JSON/JSONC configs are edited with jsonc-parser, the library wrangler's own config writer is
 * built on, without wrangler's whole-file reformat; TOML configs (which wrangler's writer refuses
 * when they hold comments) get line edits. Either way the result is read back with wrangler's
 * reader and must equal the intended change, else nothing is written and the lines to add are
 * printed instead.
 * @module
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { FluxError } from "../errors.js";
import {
  generateTraceKeys,
  keyId,
  parsePrivateJwk,
  parsePublicJwk,
  type PrivateJwk,
  type PublicJwk,
} from "../trace/keys.js";
import { generateSigningKeys, parseSigningJwk, signerId } from "../trace/_sign.js";
import { unifiedDiff } from "./_diff.js";
import {
  ASYNC_CONTEXT_FLAGS,
  CONFIG_NAMES,
  findWorkerConfig,
  loadWrangler,
  readWranglerConfig,
} from "./config.js";

/** The folder (next to the config) that holds the local key pair and pulled traces. */
export const KEY_DIR = ".fluxrun";
const PRIVATE_FILE = "agent-private.jwk";
const PUBLIC_FILE = "public.jwk";
/** The trace signing key pair: the private half is the worker's secret FLUX_SIGNING_KEY. */
const SIGNING_FILE = "signing-private.jwk";
const VERIFY_FILE = "signing-public.jwk";
const SIGNING_VAR = "FLUX_SIGNING_KEY";
/** Where wrangler dev reads local secrets (next to the config). */
const DEV_VARS = ".dev.vars";
const TRACE_BINDING = "FLUX_TRACES";
const PUBLIC_KEY_VAR = "FLUX_PUBLIC_KEY";
const HANDLER_NAME = "fluxrunHandler";

export interface InitOptions {
  /** Where the app is; the config is found here or above, as wrangler does. */
  cwd: string;
  config?: string;
  /** The entry to wrap when the config has no `main`. */
  entry?: string;
  /** Set up this wrangler environment (its bindings and vars are its own). */
  env?: string;
  /** An existing private JWK to use instead of generating a key pair. */
  key?: string;
  /** R2 bucket for traces; default `fluxrun-traces`. */
  bucket?: string;
  /** App name in summaries and R2 keys; default: the config's `name`. */
  app?: string;
  /** Show the diff; write nothing. */
  dryRun?: boolean;
}

/** One file init changed (or would change). */
export interface InitChange {
  file: string;
  what: string;
  diff: string;
}

export interface InitResult {
  dryRun: boolean;
  config: string;
  entry?: string;
  key: { kid: string; created: boolean; public: string; private: string };
  changes: InitChange[];
  /** What init left alone, and why (already there). */
  unchanged: string[];
  /** Edits init could not make safely: add these by hand. */
  manual: string[];
  /** The commands to run next. */
  next: string[];
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** What the config needs, in the scope it belongs to (an environment's own where not inherited). */
interface Plan {
  flags?: { scope: string[] };
  publicKey?: { scope: string[]; value: string };
  bucket?: { scope: string[]; binding: { binding: string; bucket_name: string } };
}

function at(raw: Raw, scope: string[]): Raw | undefined {
  let cur: unknown = raw;
  for (const s of scope) cur = isObject(cur) ? cur[s] : undefined;
  return isObject(cur) ? cur : scope.length === 0 ? raw : undefined;
}

/** The raw config with the plan applied: what wrangler must read back after the edit. */
function expected(raw: Raw, plan: Plan): Raw {
  const out = structuredClone(raw);
  const scopeOf = (scope: string[]): Raw => {
    let cur = out;
    for (const s of scope) {
      if (!isObject(cur[s])) cur[s] = {};
      cur = cur[s] as Raw;
    }
    return cur;
  };
  if (plan.flags) {
    const s = scopeOf(plan.flags.scope);
    s.compatibility_flags = [
      ...(Array.isArray(s.compatibility_flags) ? s.compatibility_flags : []),
      "nodejs_compat",
    ];
  }
  if (plan.publicKey) {
    const s = scopeOf(plan.publicKey.scope);
    s.vars = { ...(isObject(s.vars) ? s.vars : {}), [PUBLIC_KEY_VAR]: plan.publicKey.value };
  }
  if (plan.bucket) {
    const s = scopeOf(plan.bucket.scope);
    s.r2_buckets = [...(Array.isArray(s.r2_buckets) ? s.r2_buckets : []), plan.bucket.binding];
  }
  return out;
}

// ---- JSON / JSONC: jsonc-parser edits -------------------------------------------------------

interface Jsonc {
  modify(
    text: string,
    path: (string | number)[],
    value: unknown,
    options: {
      formattingOptions: { insertSpaces: boolean; tabSize: number; eol: string };
      isArrayInsertion?: boolean;
    },
  ): unknown[];
  applyEdits(text: string, edits: unknown[]): string;
}

function editJson(text: string, raw: Raw, plan: Plan): string {
  // jsonc-parser ships CommonJS (UMD); its ES build does not load in Node.
  const jsonc = createRequire(import.meta.url)("jsonc-parser") as Jsonc;
  const indented = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  const formattingOptions = {
    insertSpaces: !indented.startsWith("\t"),
    tabSize: indented.startsWith("\t") ? 1 : indented.length,
    eol: text.includes("\r\n") ? "\r\n" : "\n",
  };
  let out = text;
  const edit = (path: (string | number)[], value: unknown, isArrayInsertion = false) => {
    out = jsonc.applyEdits(
      out,
      jsonc.modify(out, path, value, { formattingOptions, isArrayInsertion }),
    );
  };
  if (plan.flags) {
    const flags = at(raw, plan.flags.scope)?.compatibility_flags;
    if (Array.isArray(flags))
      edit([...plan.flags.scope, "compatibility_flags", flags.length], "nodejs_compat", true);
    else edit([...plan.flags.scope, "compatibility_flags"], ["nodejs_compat"]);
  }
  if (plan.publicKey) edit([...plan.publicKey.scope, "vars", PUBLIC_KEY_VAR], plan.publicKey.value);
  if (plan.bucket) {
    const buckets = at(raw, plan.bucket.scope)?.r2_buckets;
    if (Array.isArray(buckets))
      edit([...plan.bucket.scope, "r2_buckets", buckets.length], plan.bucket.binding, true);
    else edit([...plan.bucket.scope, "r2_buckets"], [plan.bucket.binding]);
  }
  return out;
}

// ---- TOML: line edits --------------------------------------------------------------------------

const HEADER = /^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/;

/** Table headers: line index and dotted name (quotes dropped). */
function headers(lines: string[]): { index: number; name: string; array: boolean }[] {
  const out: { index: number; name: string; array: boolean }[] = [];
  for (const [index, line] of lines.entries()) {
    const m = HEADER.exec(line);
    if (m) out.push({ index, name: m[2]!.replace(/["'\s]/g, ""), array: m[1] === "[" });
  }
  return out;
}

/** Lines [start, end) of a table's own keys (top level: before the first header). */
function region(lines: string[], table: string): { start: number; end: number } | undefined {
  const hs = headers(lines);
  if (table === "") return { start: 0, end: hs[0]?.index ?? lines.length };
  const i = hs.findIndex((h) => !h.array && h.name === table);
  if (i < 0) return undefined;
  return { start: hs[i]!.index + 1, end: hs[i + 1]?.index ?? lines.length };
}

/**
 * The array opened at `open`: the index of its closing `]` and of its last character that is
 * neither space nor comment (strings and `#` comments skipped), or -1s when it does not close.
 */
function scanArray(text: string, open: number): { close: number; last: number } {
  let depth = 0;
  let last = open;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) break;
      i = end;
      last = end;
    } else if (c === "#") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
    } else if (c === "[") {
      depth++;
      last = i;
    } else if (c === "]") {
      if (--depth === 0) return { close: i, last };
      last = i;
    } else if (!/\s/.test(c)) last = i;
  }
  return { close: -1, last: -1 };
}

function tomlString(value: string): string {
  return value.includes("'") || value.includes("\n") ? JSON.stringify(value) : `'${value}'`;
}

function editToml(text: string, plan: Plan): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  let lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  const tableName = (scope: string[], key: string) => [...scope, key].join(".");
  if (plan.flags) {
    const table = plan.flags.scope.join(".");
    const r = region(lines, table);
    if (!r) throw new Error("no such table");
    const keyLine = lines.findIndex(
      (l, i) => i >= r.start && i < r.end && /^\s*compatibility_flags\s*=/.test(l),
    );
    if (keyLine >= 0) {
      const before = lines.slice(0, keyLine).join(eol).length + (keyLine ? eol.length : 0);
      const joined = lines.join(eol);
      const open = joined.indexOf("[", before);
      const { close, last } = open < 0 ? { close: -1, last: -1 } : scanArray(joined, open);
      if (close < 0) throw new Error("unreadable compatibility_flags");
      const after = joined[last];
      const insert =
        last === open
          ? '"nodejs_compat"'
          : after === ","
            ? ' "nodejs_compat"'
            : ', "nodejs_compat"';
      const at = last + 1;
      lines = (joined.slice(0, at) + insert + joined.slice(at)).split(eol);
    } else {
      const date = lines.findIndex(
        (l, i) => i >= r.start && i < r.end && /^\s*compatibility_date\s*=/.test(l),
      );
      let where = date >= 0 ? date + 1 : r.end;
      if (date < 0) while (where > r.start && lines[where - 1]!.trim() === "") where--;
      lines.splice(where, 0, 'compatibility_flags = ["nodejs_compat"]');
    }
  }
  const append = (block: string[]) => {
    while (lines.length && lines.at(-1)!.trim() === "") lines.pop();
    lines.push("", ...block);
  };
  if (plan.publicKey) {
    const table = tableName(plan.publicKey.scope, "vars");
    const line = `${PUBLIC_KEY_VAR} = ${tomlString(plan.publicKey.value)}`;
    const r = region(lines, table);
    if (r) lines.splice(r.start, 0, line);
    else append([`[${table}]`, line]);
  }
  if (plan.bucket) {
    append([
      `[[${tableName(plan.bucket.scope, "r2_buckets")}]]`,
      `binding = "${plan.bucket.binding.binding}"`,
      `bucket_name = ${JSON.stringify(plan.bucket.binding.bucket_name)}`,
    ]);
  }
  return lines.join(eol) + eol;
}

/** Reads `text` as a config named like `file` with wrangler's raw reader. */
async function readBack(file: string, text: string): Promise<Raw | undefined> {
  const { experimental_readRawConfig } = await loadWrangler();
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-init-"));
  try {
    const copy = join(dir, basename(file));
    await writeFile(copy, text);
    return experimental_readRawConfig({ config: copy }).rawConfig;
  } catch {
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The lines to add by hand for a plan, in the config's syntax. */
function manualLines(file: string, plan: Plan): string[] {
  const toml = file.endsWith(".toml");
  const out: string[] = [];
  const where = (scope: string[]) => (scope.length ? ` (in ${scope.join(".")})` : "");
  if (plan.flags)
    out.push(
      `${toml ? 'compatibility_flags = ["nodejs_compat"]' : '"compatibility_flags": ["nodejs_compat"]'}${where(plan.flags.scope)}`,
    );
  if (plan.publicKey)
    out.push(
      toml
        ? `[${[...plan.publicKey.scope, "vars"].join(".")}] ${PUBLIC_KEY_VAR} = ${tomlString(plan.publicKey.value)}`
        : `"vars": { "${PUBLIC_KEY_VAR}": ${JSON.stringify(plan.publicKey.value)} }${where(plan.publicKey.scope)}`,
    );
  if (plan.bucket)
    out.push(
      toml
        ? `[[${[...plan.bucket.scope, "r2_buckets"].join(".")}]] binding = "${TRACE_BINDING}", bucket_name = "${plan.bucket.binding.bucket_name}"`
        : `"r2_buckets": [{ "binding": "${TRACE_BINDING}", "bucket_name": "${plan.bucket.binding.bucket_name}" }]${where(plan.bucket.scope)}`,
    );
  return out;
}

// ---- entry: wrap the default export -----------------------------------------------------------

const RESERVED = new Set([
  "class",
  "function",
  "async",
  "new",
  "await",
  "null",
  "true",
  "false",
  "this",
  "typeof",
  "void",
  "yield",
]);

/**
 * The entry with its default export wrapped, `already` when it uses withFlux, or the line to add
 * by hand when wrapping it automatically would not be safe.
 *
 * @example
 * ```ts
 * wrapEntry("const app = new Hono();\nexport default app;\n", "shop");
 * // { source: 'import { withFlux } from "fluxrun";\n…export default withFlux(app, { app: "shop" });\n' }
 * ```
 */
export function wrapEntry(
  source: string,
  app: string | undefined,
): { source: string } | { already: true } | { manual: string } {
  const opts = app ? `, { app: ${JSON.stringify(app)} }` : "";
  if (/\bwithFlux\s*\(/.test(source)) return { already: true };
  const exports = source.match(/^export\s+default\b/gm) ?? [];
  const manual = {
    manual: `wrap the default export of the entry: import { withFlux } from "fluxrun"; export default withFlux(<your handler or Hono app>${opts});`,
  };
  if (exports.length !== 1) return manual;
  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  let body: string | undefined;
  const ident = /^export\s+default\s+([A-Za-z_$][\w$]*)\s*;?[ \t]*(\/\/[^\n]*)?$/m.exec(source);
  if (ident && !RESERVED.has(ident[1]!)) {
    body = source.replace(ident[0], `export default withFlux(${ident[1]}${opts});`);
  } else if (/^export\s+default\s+\{/m.test(source)) {
    // The object literal becomes a const and the wrapped export goes last: the expression
    // parses the same, whatever the object holds.
    if (new RegExp(`\\b${HANDLER_NAME}\\b`).test(source)) return manual;
    body =
      source.replace(/^export\s+default\s+\{/m, `const ${HANDLER_NAME} = {`).replace(/\s*$/, "") +
      `${eol}${eol}export default withFlux(${HANDLER_NAME}${opts});${eol}`;
  }
  if (body === undefined) return manual;
  const importLine = `import { withFlux } from "fluxrun";${eol}`;
  const firstImport = /^import\s/m.exec(body);
  if (firstImport) {
    body = body.slice(0, firstImport.index) + importLine + body.slice(firstImport.index);
  } else {
    const shebang = body.startsWith("#!") ? body.indexOf("\n") + 1 : 0;
    body = body.slice(0, shebang) + importLine + eol + body.slice(shebang);
  }
  return { source: body };
}

// ---- .gitignore ----------------------------------------------------------------------------------

/**
 * True when `.gitignore` in `dir` names `rel` or one of its parent folders (plain entries; a
 * best-effort check, not git's full matcher).
 *
 * @example
 * ```ts
 * await gitignoreCovers(appDir, ".fluxrun/agent-private.jwk");
 * ```
 */
export async function gitignoreCovers(dir: string, rel: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dir, ".gitignore"), "utf8");
  } catch {
    return false;
  }
  const parts = rel.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  return text.split(/\r?\n/).some((raw) => {
    const line = raw.trim().replace(/^\//, "").replace(/\/$/, "");
    return line !== "" && !line.startsWith("#") && prefixes.includes(line);
  });
}

// ---- keys ----------------------------------------------------------------------------------------

/**
 * Writes a key pair as JWK files in `dir`: the private half readable by its owner only (0600),
 * the public half beside it.
 *
 * @example
 * ```ts
 * await writeKeyPair(".fluxrun", ["agent-private.jwk", privateJwk], ["public.jwk", publicJwk]);
 * ```
 */
export async function writeKeyPair(
  dir: string,
  [privateFile, privateJwk]: [string, object],
  [publicFile, publicJwk]: [string, object],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, privateFile), `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
  await chmod(join(dir, privateFile), 0o600);
  await writeFile(join(dir, publicFile), `${JSON.stringify(publicJwk)}\n`);
}

async function loadKeys(
  root: string,
  keyFile: string | undefined,
  dryRun: boolean,
): Promise<{ publicJwk: PublicJwk; privateJwk?: PrivateJwk; kid: string; created: boolean }> {
  const dir = join(root, KEY_DIR);
  if (keyFile) {
    let text: string;
    try {
      text = await readFile(keyFile, "utf8");
    } catch (cause) {
      throw new FluxError("ERR_KEY_INVALID", `Could not read the private key file ${keyFile}`, {
        cause,
      });
    }
    const privateJwk = parsePrivateJwk(text);
    const publicJwk = parsePublicJwk({ kty: "OKP", crv: "X25519", x: privateJwk.x });
    return { publicJwk, privateJwk, kid: await keyId(publicJwk), created: false };
  }
  if (existsSync(join(dir, PRIVATE_FILE))) {
    const privateJwk = parsePrivateJwk(await readFile(join(dir, PRIVATE_FILE), "utf8"));
    const publicJwk = parsePublicJwk({ kty: "OKP", crv: "X25519", x: privateJwk.x });
    return { publicJwk, kid: await keyId(publicJwk), created: false };
  }
  const made = await generateTraceKeys();
  if (!dryRun) {
    await writeKeyPair(dir, [PRIVATE_FILE, made.privateJwk], [PUBLIC_FILE, made.publicJwk]);
  }
  return { publicJwk: made.publicJwk, kid: made.kid, created: true };
}

/** The trace signing key of this app: reused from `.fluxrun/`, else made. */
async function loadSigningKeys(
  root: string,
  dryRun: boolean,
): Promise<{ signingJson: string; kid: string; created: boolean }> {
  const dir = join(root, KEY_DIR);
  if (existsSync(join(dir, SIGNING_FILE))) {
    const jwk = parseSigningJwk(await readFile(join(dir, SIGNING_FILE), "utf8"));
    return { signingJson: JSON.stringify(jwk), kid: await signerId(jwk), created: false };
  }
  const made = await generateSigningKeys();
  if (!dryRun) {
    await writeKeyPair(dir, [SIGNING_FILE, made.signingJwk], [VERIFY_FILE, made.verifyJwk]);
  }
  return { signingJson: JSON.stringify(made.signingJwk), kid: made.kid, created: true };
}

/** True when a dotenv file sets `name`. */
function setsVar(text: string, name: string): boolean {
  return text.split(/\r?\n/).some((l) => new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(l));
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.fluxrun-init.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

function shown(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return (rel && !rel.startsWith("..") ? rel : file).split(sep).join("/");
}

/**
 * Adds FluxRun to the app whose wrangler config is found from `cwd`.
 *
 * @example
 * ```ts
 * const result = await initApp({ cwd: "my-app", dryRun: true });
 * for (const c of result.changes) console.log(c.diff);
 * ```
 */
export async function initApp(options: InitOptions): Promise<InitResult> {
  const cwd = resolve(options.cwd);
  const dryRun = options.dryRun ?? false;
  const file = findWorkerConfig(options.config, cwd);
  const root = dirname(file);
  const wrangler = await loadWrangler();
  // wrangler's full reader first: a config wrangler refuses is reported as wrangler reports it.
  await readWranglerConfig(file, { cwd, ...(options.env ? { env: options.env } : {}) });
  const raw = wrangler.experimental_readRawConfig({ config: file }).rawConfig;
  const envScope = options.env ? ["env", options.env] : [];
  const envRaw = options.env ? at(raw, envScope) : raw;
  if (!envRaw)
    throw new FluxError("ERR_CONFIG", `${shown(cwd, file)} has no environment "${options.env}"`);

  const keys = await loadKeys(root, options.key, dryRun);
  const publicValue =
    dryRun && keys.created ? "<the public key init generates>" : JSON.stringify(keys.publicJwk);
  const changes: InitChange[] = [];
  const unchanged: string[] = [];
  const manual: string[] = [];
  const privatePath = options.key ?? join(root, KEY_DIR, PRIVATE_FILE);
  if (keys.created) {
    changes.push({
      file: shown(cwd, join(root, KEY_DIR)),
      what: `${dryRun ? "would generate" : "generated"} trace key ${dryRun ? "pair" : keys.kid}: ${KEY_DIR}/${PRIVATE_FILE} (0600, never commit) and ${KEY_DIR}/${PUBLIC_FILE}`,
      diff: "",
    });
  } else unchanged.push(`trace key ${keys.kid} (${shown(cwd, privatePath)})`);
  const signing = await loadSigningKeys(root, dryRun);
  if (signing.created) {
    changes.push({
      file: shown(cwd, join(root, KEY_DIR)),
      what: `${dryRun ? "would generate" : "generated"} trace signing key ${dryRun ? "pair" : signing.kid}: ${KEY_DIR}/${SIGNING_FILE} (0600, the worker's secret ${SIGNING_VAR}) and ${KEY_DIR}/${VERIFY_FILE} (register it with the agent)`,
      diff: "",
    });
  } else unchanged.push(`trace signing key ${signing.kid}`);

  // .gitignore: the keys, and the local secrets file that holds the signing key
  const gitignore = join(root, ".gitignore");
  const ignore = [
    (await gitignoreCovers(root, `${KEY_DIR}/${PRIVATE_FILE}`)) ? "" : `${KEY_DIR}/`,
    (await gitignoreCovers(root, DEV_VARS)) ? "" : DEV_VARS,
  ].filter(Boolean);
  if (ignore.length === 0) {
    unchanged.push(`.gitignore already ignores ${KEY_DIR}/ and ${DEV_VARS}`);
  } else {
    const before = existsSync(gitignore) ? await readFile(gitignore, "utf8") : "";
    const sepLine = before === "" || before.endsWith("\n") ? "" : "\n";
    const after = `${before}${sepLine}${before ? "\n" : ""}# FluxRun: local keys, secrets and pulled traces (never commit them)\n${ignore.join("\n")}\n`;
    changes.push({
      file: shown(cwd, gitignore),
      what: `ignore ${ignore.join(" and ")} (private keys)`,
      diff: unifiedDiff(before, after, { from: shown(cwd, gitignore), to: shown(cwd, gitignore) }),
    });
    if (!dryRun) await writeAtomic(gitignore, after);
  }

  // .dev.vars: the signing key as a local secret (deployed with wrangler secret put)
  const devVars = join(root, DEV_VARS);
  const devBefore = existsSync(devVars) ? await readFile(devVars, "utf8") : "";
  if (setsVar(devBefore, SIGNING_VAR)) unchanged.push(`${DEV_VARS} sets ${SIGNING_VAR}`);
  else {
    const sepLine = devBefore === "" || devBefore.endsWith("\n") ? "" : "\n";
    const value =
      dryRun && signing.created ? "<the signing key init generates>" : signing.signingJson;
    const after = `${devBefore}${sepLine}${SIGNING_VAR}='${value}'\n`;
    changes.push({
      file: shown(cwd, devVars),
      what: `add ${SIGNING_VAR} (local secret; deploy it with: npx wrangler secret put ${SIGNING_VAR} < ${KEY_DIR}/${SIGNING_FILE})`,
      diff: unifiedDiff(devBefore, after.replace(value, "<signing key>"), {
        from: shown(cwd, devVars),
        to: shown(cwd, devVars),
      }),
    });
    if (!dryRun) {
      await writeAtomic(devVars, after);
      await chmod(devVars, 0o600);
    }
  }

  // wrangler config
  const plan: Plan = {};
  const resolvedFlags = (
    Array.isArray(envRaw.compatibility_flags) ? envRaw.compatibility_flags : raw.compatibility_flags
  ) as unknown;
  const hasFlag =
    Array.isArray(resolvedFlags) &&
    resolvedFlags.some((f) => (ASYNC_CONTEXT_FLAGS as readonly unknown[]).includes(f));
  if (hasFlag) unchanged.push("compatibility flag nodejs_compat");
  else
    plan.flags = {
      scope: options.env && Array.isArray(envRaw.compatibility_flags) ? envScope : [],
    };
  const vars = isObject(envRaw.vars) ? envRaw.vars : {};
  const currentKey = vars[PUBLIC_KEY_VAR];
  if (typeof currentKey === "string" && currentKey.trim() !== "") {
    let same = false;
    try {
      same = (await keyId(parsePublicJwk(currentKey))) === keys.kid;
    } catch {
      same = false;
    }
    if (same) unchanged.push(`${PUBLIC_KEY_VAR} (key ${keys.kid})`);
    else
      manual.push(
        `${PUBLIC_KEY_VAR} in ${shown(cwd, file)} is not the public half of ${shown(cwd, privatePath)}: traces are sealed to the config's key; replace it or pass that key's private half with --key`,
      );
  } else if (currentKey === undefined) {
    plan.publicKey = { scope: envScope, value: publicValue };
  } else {
    manual.push(
      `${PUBLIC_KEY_VAR} in ${shown(cwd, file)} is empty: set it to ${JSON.stringify(keys.publicJwk)}`,
    );
  }
  const buckets = Array.isArray(envRaw.r2_buckets) ? (envRaw.r2_buckets as unknown[]) : [];
  if (buckets.some((b) => isObject(b) && b.binding === TRACE_BINDING)) {
    unchanged.push(`R2 binding ${TRACE_BINDING}`);
  } else {
    plan.bucket = {
      scope: envScope,
      binding: { binding: TRACE_BINDING, bucket_name: options.bucket ?? "fluxrun-traces" },
    };
  }
  if (plan.flags || plan.publicKey || plan.bucket) {
    const text = await readFile(file, "utf8");
    let edited: string | undefined;
    try {
      edited = file.endsWith(".toml") ? editToml(text, plan) : editJson(text, raw, plan);
    } catch {
      edited = undefined;
    }
    const back = edited === undefined ? undefined : await readBack(file, edited);
    if (edited !== undefined && back && isDeepStrictEqual(back, expected(raw, plan))) {
      const what = [
        plan.flags ? "compatibility flag nodejs_compat" : "",
        plan.bucket
          ? `R2 binding ${TRACE_BINDING} (bucket ${plan.bucket.binding.bucket_name})`
          : "",
        plan.publicKey
          ? `${PUBLIC_KEY_VAR} (public key${dryRun && keys.created ? "" : ` ${keys.kid}`})`
          : "",
      ]
        .filter(Boolean)
        .join(", ");
      changes.push({
        file: shown(cwd, file),
        what: `add ${what}${options.env ? ` (environment ${options.env})` : ""}`,
        diff: unifiedDiff(text, edited, { from: shown(cwd, file), to: shown(cwd, file) }),
      });
      if (!dryRun) await writeAtomic(file, edited);
    } else {
      manual.push(
        `${shown(cwd, file)}: could not edit it safely; add:`,
        ...manualLines(file, plan).map((l) => `  ${l}`),
      );
    }
  }

  // entry
  const mainRaw = typeof envRaw.main === "string" ? envRaw.main : raw.main;
  const entryPath = options.entry
    ? resolve(cwd, options.entry)
    : typeof mainRaw === "string"
      ? resolve(root, mainRaw)
      : undefined;
  const app = options.app ?? (typeof raw.name === "string" ? raw.name : undefined);
  if (!entryPath) {
    manual.push(
      `${shown(cwd, file)} has no "main": run init again with --entry <file> (the script you give wrangler dev) to wrap its default export`,
    );
  } else if (!existsSync(entryPath)) {
    throw new FluxError("ERR_CONFIG", `No entry module at ${shown(cwd, entryPath)}`);
  } else {
    const source = await readFile(entryPath, "utf8");
    const wrapped = wrapEntry(source, app);
    if ("already" in wrapped) unchanged.push(`${shown(cwd, entryPath)} already uses withFlux`);
    else if ("manual" in wrapped) manual.push(`${shown(cwd, entryPath)}: ${wrapped.manual}`);
    else {
      changes.push({
        file: shown(cwd, entryPath),
        what: "wrap the default export with withFlux",
        diff: unifiedDiff(source, wrapped.source, {
          from: shown(cwd, entryPath),
          to: shown(cwd, entryPath),
        }),
      });
      if (!dryRun) await writeAtomic(entryPath, wrapped.source);
    }
  }

  // next commands, with the options this app needs
  const defaultConfig = CONFIG_NAMES.some((n) => join(cwd, n) === file);
  const configArg = defaultConfig ? "" : ` -c ${shown(cwd, file)}`;
  const envArg = options.env ? ` --env ${options.env}` : "";
  // No main and no --entry: the commands need the entry the user gives wrangler dev.
  const entryArg = options.entry
    ? ` ${shown(cwd, resolve(cwd, options.entry))}`
    : entryPath
      ? ""
      : " <entry>";
  const fluxConfig = defaultConfig ? "" : ` --config ${shown(cwd, file)}`;
  const next = [
    `npx wrangler dev${configArg}${envArg}${entryArg}`,
    `npx fluxrun pull${fluxConfig}${envArg}`,
    `npx fluxrun replay .fluxrun/traces${fluxConfig}${envArg}${entryArg ? ` --entry${entryArg}` : ""}${options.key ? ` --key ${shown(cwd, resolve(cwd, options.key))}` : ""}`,
  ];
  return {
    dryRun,
    config: shown(cwd, file),
    ...(entryPath ? { entry: shown(cwd, entryPath) } : {}),
    key: {
      kid: keys.kid,
      created: keys.created,
      public: shown(cwd, join(root, KEY_DIR, PUBLIC_FILE)),
      private: shown(cwd, privatePath),
    },
    changes,
    unchanged,
    manual,
    next,
  };
}

/**
 * The init result for a terminal: changes (diffs on a dry run), what to add by hand, next steps.
 *
 * @example
 * ```ts
 * for (const line of formatInit(await initApp({ cwd }))) console.log(line);
 * ```
 */
export function formatInit(r: InitResult): string[] {
  const out: string[] = [];
  if (r.dryRun) out.push("Dry run: nothing written. fluxrun init would:");
  if (!r.changes.length) out.push(`Nothing to change: FluxRun is already set up in ${r.config}.`);
  for (const c of r.changes) {
    out.push(`${r.dryRun ? "  " : "  ✓ "}${c.file}: ${c.what}`);
    if (r.dryRun && c.diff) out.push(c.diff);
  }
  if (r.manual.length) {
    out.push("", "Do by hand (init could not do it safely):");
    for (const m of r.manual) out.push(`  ${m}`);
  }
  out.push("", "Next:");
  const notes = [
    "then send it a few requests: each is recorded into local R2",
    "local traces → .fluxrun/traces",
    "every trace replays: MATCH",
  ];
  const width = Math.max(...r.next.map((c) => c.length));
  for (const [i, c] of r.next.entries()) out.push(`  ${c.padEnd(width)}   # ${notes[i]}`);
  return out;
}
