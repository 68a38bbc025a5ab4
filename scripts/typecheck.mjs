#!/usr/bin/env node
// `npm run typecheck`: `tsc -p` for every package's tsconfig (each part keeps its own types:
// workers code without Node, the harness and tests with it, page scripts with the DOM), two at a
// time so both cores work. Prints each failing project's errors; exits 1 if any failed.
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const PROJECTS = [
  "runtime/tsconfig.json",
  "runtime/tsconfig.node.json",
  "runtime/tsconfig.test.json",
  "worker/tsconfig.json",
  "agent/tsconfig.json",
  "agent/tsconfig.test.json",
  "dashboard/tsconfig.json",
  "dashboard/tsconfig.client.json",
  "dashboard/tsconfig.test.json",
  "bench/tsconfig.json",
];
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

function check(project) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSC, "-p", project], { cwd: ROOT });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ project, ok: code === 0, out }));
  });
}

const queue = [...PROJECTS];
const failed = [];
async function worker() {
  for (let project = queue.shift(); project; project = queue.shift()) {
    const r = await check(project);
    if (!r.ok) failed.push(r);
  }
}
await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker));
for (const r of failed) process.stderr.write(`tsc -p ${r.project}\n${r.out}\n`);
if (failed.length) process.exit(1);
console.log(`typecheck: ${PROJECTS.length} projects ok`);
