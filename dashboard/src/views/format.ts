/**
 * Display formatting: times in UTC, durations, counts, status classes.
 * @module
 */

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `2026-04-20 14:03:12.345` (UTC). */
export function formatTime(ms: number, options: { millis?: boolean } = {}): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "—";
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return options.millis === false ? base : `${base}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** `12.3 ms`, `1.24 s`, `850 µs`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** CSS class for a status code. */
export function statusClass(status: number | null | undefined): string {
  if (!status) return "st-none";
  if (status >= 500) return "st-5";
  if (status >= 400) return "st-4";
  if (status >= 300) return "st-3";
  return "st-2";
}

/** "3 minutes ago"-style relative time against `now`. */
export function ago(ms: number, now: number): string {
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return "in the future";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
