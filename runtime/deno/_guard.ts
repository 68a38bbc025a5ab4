/**
 * The replay task's network guard, evaluated before FluxRun loads (so FluxRun's saved "original"
 * fetch is this guard too): every way out of the process that code could try around FluxRun is
 * counted and refused. `--deny-net` is the backstop under it: anything this guard does not know
 * (node:net, node:http) is refused by Deno itself.
 * @module
 */

let attempts = 0;

/** Live network attempts made since the process started. */
export function liveNetworkAttempts(): number {
  return attempts;
}

function blocked(what: string): TypeError {
  attempts++;
  return new TypeError(`FluxRun replay: live network access is blocked (${what})`);
}

const g = globalThis as unknown as Record<string, unknown>;
g.fetch = () => Promise.reject(blocked("fetch"));

const deno = Deno as unknown as Record<string, unknown>;
for (const name of ["connect", "connectTls", "startTls", "resolveDns", "listen", "listenTls"]) {
  if (typeof deno[name] === "function")
    deno[name] = () => {
      throw blocked(`Deno.${name}`);
    };
}
if (typeof g.WebSocket === "function") {
  g.WebSocket = function WebSocket() {
    throw blocked("WebSocket");
  };
}
