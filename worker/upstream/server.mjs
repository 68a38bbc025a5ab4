// A local stand-in for the shop's pricing/catalog/payments upstream: deterministic data on
// 127.0.0.1 only. `p-404` is a discontinued product (price null), which triggers the app's bug.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

const CATALOG = {
  "p-1": { id: "p-1", name: "Espresso beans 1kg", price: { amount: 24.5, currency: "EUR" } },
  "p-2": { id: "p-2", name: "Ceramic cup", price: { amount: 9.9, currency: "EUR" } },
  "p-3": { id: "p-3", name: "Milk frother", price: { amount: 39, currency: "EUR" } },
  "p-404": { id: "p-404", name: "Discontinued grinder", price: null },
};

/** Starts the upstream; resolves to its URL, a request counter and close(). */
export function startUpstream({ port = 8790 } = {}) {
  let requests = 0;
  let charges = 0;
  const server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname.startsWith("/catalog/")) {
      const p = CATALOG[decodeURIComponent(url.pathname.slice("/catalog/".length))];
      return p ? send(200, p) : send(404, { error: "not found" });
    }
    if (req.method === "GET" && url.pathname === "/prices") {
      const ids = (url.searchParams.get("ids") ?? "").split(",").filter(Boolean);
      return send(
        200,
        Object.fromEntries(ids.filter((id) => CATALOG[id]).map((id) => [id, CATALOG[id]])),
      );
    }
    if (req.method === "POST" && url.pathname === "/payments/charges") {
      if (!/^Bearer .+/.test(req.headers.authorization ?? ""))
        return send(401, { error: "missing API key" });
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const input = JSON.parse(body || "{}");
        charges++;
        send(200, {
          id: `ch_${String(charges).padStart(6, "0")}`,
          status: "succeeded",
          amount: input.amount,
          currency: input.currency,
        });
      });
      return;
    }
    send(404, { error: "no such route" });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: bound } = server.address();
      resolve({
        url: `http://127.0.0.1:${bound}`,
        requests: () => requests,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.env.UPSTREAM_PORT ?? 8790);
  startUpstream({ port }).then((u) => console.log(`upstream on ${u.url}`));
}
