/**
 * The example app: a small shop API (catalog, prices from an upstream, orders in D1, payments
 * through an SDK), wrapped with withFlux. It has a real bug worth triaging: see `priceOf`.
 * @module
 */
import { Hono } from "hono";
import { withFlux } from "fluxrun";
import { findOrder, insertOrder, type OrderItem } from "./db.js";
import { PaymentsClient } from "./payments.js";

export interface Env {
  CATALOG_CACHE: KVNamespace;
  DB: D1Database;
  FLUX_TRACES: R2Bucket;
  UPSTREAM_URL: string;
  APP_NAME: string;
}

interface Product {
  id: string;
  name: string;
  price: { amount: number; currency: string } | null;
}

const COUPONS: Record<string, number> = { WELCOME10: 10, HALF: 50 };

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true, app: c.env.APP_NAME }));

app.get("/products/:id", async (c) => {
  const id = c.req.param("id");
  const cached = await c.env.CATALOG_CACHE.get<Product>(`product:${id}`, "json");
  if (cached) return c.json({ ...cached, cache: "hit" });
  const res = await fetch(`${c.env.UPSTREAM_URL}/catalog/${encodeURIComponent(id)}`);
  if (res.status === 404) return c.json({ error: "product not found" }, 404);
  if (!res.ok) return c.json({ error: "catalog unavailable" }, 502);
  const product = (await res.json()) as Product;
  await c.env.CATALOG_CACHE.put(`product:${id}`, JSON.stringify(product), { expirationTtl: 300 });
  return c.json({ ...product, cache: "miss" });
});

app.get("/orders/:id", async (c) => {
  const order = await findOrder(c.env.DB, c.req.param("id"));
  return order ? c.json(order) : c.json({ error: "order not found" }, 404);
});

/** Unit price in cents after the coupon. */
function priceOf(product: Product, percentOff: number): number {
  // BUG: discontinued products come back from the upstream with `price: null`; this reads
  // `.amount` of null and the checkout fails with a TypeError (500) instead of a 409.
  const cents = Math.round(product.price!.amount * 100);
  return Math.round((cents * (100 - percentOff)) / 100);
}

app.post("/orders", async (c) => {
  let body: { items?: { productId?: unknown; qty?: unknown }[]; coupon?: unknown };
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: "body must be JSON" }, 400);
  }
  const items = body.items;
  if (!Array.isArray(items) || items.length === 0 || items.length > 20) {
    return c.json({ error: "items must be a list of 1 to 20 entries" }, 400);
  }
  for (const item of items) {
    if (
      typeof item.productId !== "string" ||
      !Number.isInteger(item.qty) ||
      (item.qty as number) < 1
    ) {
      return c.json({ error: "each item needs a productId and a positive integer qty" }, 400);
    }
  }
  const coupon = typeof body.coupon === "string" ? body.coupon : undefined;
  if (coupon !== undefined && !(coupon in COUPONS)) return c.json({ error: "unknown coupon" }, 400);
  const ids = items.map((i) => i.productId as string);
  const res = await fetch(
    `${c.env.UPSTREAM_URL}/prices?ids=${ids.map(encodeURIComponent).join(",")}`,
  );
  if (!res.ok) return c.json({ error: "pricing unavailable" }, 502);
  const products = (await res.json()) as Record<string, Product>;
  const lines: OrderItem[] = [];
  for (const item of items) {
    const product = products[item.productId as string];
    if (!product) return c.json({ error: `unknown product ${String(item.productId)}` }, 404);
    lines.push({
      productId: product.id,
      qty: item.qty as number,
      unitCents: priceOf(product, COUPONS[coupon ?? ""] ?? 0),
    });
  }
  const total = lines.reduce((sum, l) => sum + l.unitCents * l.qty, 0);
  const orderId = crypto.randomUUID();
  const createdAt = new Date().toISOString();
  const payments = new PaymentsClient(c.env.UPSTREAM_URL);
  const charge = await payments.charge({ amount: total, currency: "EUR", orderId });
  if (charge.status !== "succeeded") return c.json({ error: "payment declined", orderId }, 402);
  const order = {
    id: orderId,
    total_cents: total,
    currency: "EUR",
    status: "paid",
    charge_id: charge.id,
    created_at: createdAt,
  };
  await insertOrder(c.env.DB, order, lines);
  console.log(`order ${orderId} paid: ${total} cents`);
  return c.json({ ...order, items: lines }, 201);
});

export default withFlux(app, { app: "shop-api" });
