/**
 * Call sites: which line of the app made a call. A boundary captures the stack at its entry point
 * (cheap: V8 collects frames, nothing is formatted); the frames are read only when the trace is
 * kept, as `[function, file, line, column]`, the boundary's own frames left out. Frames are of
 * the deployed bundle: the CLI and the dashboard map them to sources with its source map.
 * @module
 */

/** One stack frame: function name, file, line, column (1-based), as recorded. */
export type Frame = [fn: string, file: string, line: number, column: number];

/** Frames kept per event. */
const FRAMES = 3;

/** A captured, unread stack. */
export interface RawSite {
  stack?: unknown;
}

interface CallSite {
  getFunctionName(): string | null;
  getMethodName?(): string | null;
  getTypeName?(): string | null;
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

type ErrorStatics = {
  captureStackTrace?: (target: object, constructorOpt?: (...a: never[]) => unknown) => void;
  stackTraceLimit?: number | undefined;
  prepareStackTrace?: ((error: unknown, frames: CallSite[]) => unknown) | undefined;
};

const E = Error as unknown as ErrorStatics;

/**
 * The stack below `entry` (the boundary function the app called), captured but not read. Hosts
 * without V8's stack API give nothing.
 */
export function captureSite(entry: (...a: never[]) => unknown): RawSite | undefined {
  if (typeof E.captureStackTrace !== "function") return undefined;
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = FRAMES;
  const site: RawSite = {};
  try {
    E.captureStackTrace(site, entry);
  } finally {
    E.stackTraceLimit = limit;
  }
  return site;
}

/** Reads a captured stack's frames (formatting nothing the app could see). */
export function readSite(site: RawSite): Frame[] {
  const previous = E.prepareStackTrace;
  let frames: unknown;
  try {
    E.prepareStackTrace = (_error, callSites) => callSites;
    frames = site.stack;
  } catch {
    frames = undefined;
  } finally {
    E.prepareStackTrace = previous;
  }
  if (!Array.isArray(frames)) return typeof frames === "string" ? parseStack(frames) : [];
  return (frames as CallSite[])
    .slice(0, FRAMES)
    .map((f) => [
      f.getFunctionName() ?? f.getMethodName?.() ?? "",
      f.getFileName() ?? "",
      f.getLineNumber() ?? 0,
      f.getColumnNumber() ?? 0,
    ]);
}

/** A frame as one line: `fn (file:line:col)`, or `file:line:col` for an anonymous one. */
export function formatFrame([fn, file, line, column]: Frame): string {
  const at = `${file}:${line}:${column}`;
  return fn ? `${fn} (${at})` : at;
}

const FRAME_LINE = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?\s*$/;

/** Frames from a formatted V8 stack (`at fn (file:line:col)`), the message line skipped. */
export function parseStack(stack: string, skip = 0): Frame[] {
  const out: Frame[] = [];
  for (const line of stack.split("\n")) {
    const m = FRAME_LINE.exec(line);
    if (!m) continue;
    if (skip-- > 0) continue;
    out.push([m[1] ?? "", m[2] ?? "", Number(m[3]), Number(m[4])]);
    if (out.length >= FRAMES) break;
  }
  return out;
}
