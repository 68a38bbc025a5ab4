/**
 * A unified diff of two small texts (line LCS), for `fluxrun init --dry-run`.
 * @module
 */

type Op = { kind: " " | "-" | "+"; line: string };

function lines(text: string): string[] {
  const out = text.split("\n");
  if (out.at(-1) === "") out.pop();
  return out;
}

/**
 * `a` → `b` as a unified diff with `context` lines around each change; "" when equal.
 *
 * @example
 * ```ts
 * unifiedDiff("a\nb\n", "a\nc\n", { from: "wrangler.toml", to: "wrangler.toml" });
 * ```
 */
export function unifiedDiff(
  a: string,
  b: string,
  options: { from: string; to: string; context?: number },
): string {
  if (a === b) return "";
  const x = lines(a);
  const y = lines(b);
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: LCS length of x[i..] and y[j..]. Config and entry files are small.
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ kind: " ", line: x[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: "-", line: x[i]! });
      i++;
    } else {
      ops.push({ kind: "+", line: y[j]! });
      j++;
    }
  }
  const context = options.context ?? 3;
  const out = [`--- ${options.from}`, `+++ ${options.to}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.kind === " ") {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while changes are within 2 × context of each other.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== " ") end++;
      let next = end;
      while (next < ops.length && ops[next]!.kind === " ") next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const oldStart = ops.slice(0, start).filter((o) => o.kind !== "+").length;
    const newStart = ops.slice(0, start).filter((o) => o.kind !== "-").length;
    const hunk = ops.slice(start, stop);
    const oldLen = hunk.filter((o) => o.kind !== "+").length;
    const newLen = hunk.filter((o) => o.kind !== "-").length;
    // An empty side is numbered by the line before it, as diff does.
    const from = (s: number, len: number) => `${len ? s + 1 : s},${len}`;
    out.push(`@@ -${from(oldStart, oldLen)} +${from(newStart, newLen)} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k = stop;
  }
  return out.join("\n");
}
