/**
 * Route labels of Hono apps are their templates, found with the app's own router: grouping and
 * charts stay bounded however many ids a path carries.
 */
import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import { honoRoute } from "../src/adapter/workers.js";

describe("Hono route templates", () => {
  const app = new Hono();
  app.use("*", async (_c, next) => next());
  app.get("/products/:id", (c) => c.text("p"));
  app.post("/orders", (c) => c.text("o"));
  const api = new Hono();
  api.get("/users/:user/posts/:post", (c) => c.text("u"));
  app.route("/api", api);
  const route = honoRoute(app)!;
  const of = (method: string, path: string) => route(new Request(`https://x${path}`, { method }));

  it("labels a request with the route that answers it, not the middleware", () => {
    expect(of("GET", "/products/p-1")).toBe("/products/:id");
    expect(of("GET", "/products/p-2")).toBe("/products/:id");
    expect(of("HEAD", "/products/p-3")).toBe("/products/:id");
    expect(of("POST", "/orders")).toBe("/orders");
    expect(of("GET", "/api/users/ada/posts/7")).toBe("/api/users/:user/posts/:post");
  });

  it("labels a request no route matches as such", () => {
    expect(of("GET", "/wp-admin.php")).toBe("(no route)");
    expect(of("DELETE", "/orders")).toBe("(no route)");
  });

  it("is undefined for handlers that are not Hono apps", () => {
    expect(honoRoute({ fetch: () => new Response() })).toBeUndefined();
  });
});
