#!/usr/bin/env node
// Demo traffic for the example shop API: browsing, orders, bad input, and the p-404 bug.
import { pathToFileURL } from "node:url";

const REQUESTS = [
  ["GET", "/health"],
  ["GET", "/products/p-1"],
  ["GET", "/products/p-2"],
  ["GET", "/products/p-1"],
  ["GET", "/products/unknown"],
  [
    "POST",
    "/orders",
    {
      items: [
        { productId: "p-1", qty: 2 },
        { productId: "p-2", qty: 1 },
      ],
      coupon: "WELCOME10",
    },
  ],
  ["POST", "/orders", { items: [{ productId: "p-3", qty: 1 }] }],
  ["POST", "/orders", { items: [{ productId: "p-404", qty: 1 }] }],
  ["POST", "/orders", { items: [] }],
  ["POST", "/orders", { items: [{ productId: "p-2", qty: 3 }], coupon: "HALF" }],
  [
    "POST",
    "/orders",
    {
      items: [
        { productId: "p-404", qty: 2 },
        { productId: "p-1", qty: 1 },
      ],
    },
  ],
  ["GET", "/orders/does-not-exist"],
];

/** Sends the demo requests to `base`; resolves to how many were sent. */
export async function sendTraffic(base) {
  let n = 0;
  for (const [method, path, body] of REQUESTS) {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    });
    await res.arrayBuffer();
    n++;
  }
  return n;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const base = process.argv[2] ?? "http://127.0.0.1:8787";
  sendTraffic(base).then((n) => console.log(`sent ${n} requests to ${base}`));
}
