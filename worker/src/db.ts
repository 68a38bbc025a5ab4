/**
 * Order storage on D1.
 * @module
 */
export interface OrderRow {
  id: string;
  total_cents: number;
  currency: string;
  status: string;
  charge_id: string | null;
  created_at: string;
}

export interface OrderItem {
  productId: string;
  qty: number;
  unitCents: number;
}

export async function findOrder(db: D1Database, id: string): Promise<OrderRow | null> {
  return db.prepare("SELECT * FROM orders WHERE id = ?").bind(id).first<OrderRow>();
}

export async function insertOrder(
  db: D1Database,
  order: OrderRow,
  items: OrderItem[],
): Promise<void> {
  await db
    .prepare(
      "INSERT INTO orders (id, total_cents, currency, status, charge_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(
      order.id,
      order.total_cents,
      order.currency,
      order.status,
      order.charge_id,
      order.created_at,
    )
    .run();
  await db.batch(
    items.map((item) =>
      db
        .prepare(
          "INSERT INTO order_items (order_id, product_id, qty, unit_cents) VALUES (?, ?, ?, ?)",
        )
        .bind(order.id, item.productId, item.qty, item.unitCents),
    ),
  );
}
