#!/usr/bin/env node
// One line and exit code 2 for anything main did not answer (a failed import, a stray rejection
// after it returned): no stack trace, which could quote the trace being read, unless FLUXRUN_DEBUG.
const fail = (err) => {
  const kind = err instanceof Error ? err.name : typeof err;
  if (process.env.FLUXRUN_DEBUG) process.stderr.write(`${err?.stack ?? String(err)}\n`);
  process.stderr.write(`fluxrun: ERR_INTERNAL: fluxrun failed: unexpected ${kind}\n`);
  process.exit(2);
};
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
try {
  const { main } = await import("../dist/harness/cli.js");
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  fail(err);
}
