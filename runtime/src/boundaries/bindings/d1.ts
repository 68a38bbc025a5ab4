/**
 * D1: prepare/bind build statements (no IO); first, all, run, raw, batch and exec are calls.
 * A statement is a write unless its SQL starts with SELECT, WITH ... SELECT, EXPLAIN or a
 * read-only PRAGMA.
 * @module
 */
import type { BindingBoundary } from "../_boundary.js";
import { bindingCall, hasMethods } from "./_call.js";

const READ_SQL =
  /^\s*(?:select|explain|pragma\s+\w+\s*(?:;|$)|with\b[\s\S]*\bselect\b(?![\s\S]*\b(?:insert|update|delete|replace)\b))/i;

/** True when a statement may change data. */
export function isWriteSql(sql: string): boolean {
  return !READ_SQL.test(sql);
}

const STATEMENT = Symbol("fluxrun.d1.statement");

class FluxStatement {
  readonly [STATEMENT]: true = true;
  readonly #db: D1Database;
  readonly #name: string;
  readonly #real: D1PreparedStatement;
  readonly sql: string;
  readonly params: unknown[];

  constructor(
    db: D1Database,
    name: string,
    real: D1PreparedStatement,
    sql: string,
    params: unknown[],
  ) {
    this.#db = db;
    this.#name = name;
    this.#real = real;
    this.sql = sql;
    this.params = params;
  }

  /** The real statement, for the real binding's batch(). */
  get real(): D1PreparedStatement {
    return this.#real;
  }

  bind(...values: unknown[]): FluxStatement {
    return new FluxStatement(this.#db, this.#name, this.#real.bind(...values), this.sql, values);
  }

  #call<T>(op: string, arg: unknown, live: () => Promise<T>): Promise<T> {
    return bindingCall<T>(this.#name, {
      op,
      write: isWriteSql(this.sql),
      request: { sql: this.sql, params: this.params, arg: arg ?? null },
      live,
    });
  }

  first<T = unknown>(column?: string): Promise<T | null> {
    return this.#call("first", column, () =>
      column === undefined ? this.#real.first<T>() : this.#real.first<T>(column),
    ) as Promise<T | null>;
  }
  all<T = unknown>(): Promise<D1Result<T>> {
    return this.#call("all", null, () => this.#real.all<T>());
  }
  run<T = unknown>(): Promise<D1Result<T>> {
    return this.#call("run", null, () => this.#real.run<T>());
  }
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    return this.#call("raw", options ?? null, () =>
      options?.columnNames
        ? (this.#real.raw({ columnNames: true }) as Promise<T[]>)
        : this.#real.raw<T>(),
    );
  }
}

function wrapD1(db: D1Database, name: string): D1Database {
  const wrapper = {
    prepare: (sql: string) => new FluxStatement(db, name, db.prepare(sql), sql, []),
    batch: <T = unknown>(statements: FluxStatement[]) => {
      if (!Array.isArray(statements) || !statements.every((s) => s instanceof FluxStatement)) {
        throw new TypeError("D1 batch() takes statements prepared on the same binding");
      }
      return bindingCall<D1Result<T>[]>(name, {
        op: "batch",
        write: statements.some((s) => isWriteSql(s.sql)),
        request: statements.map((s) => ({ sql: s.sql, params: s.params })),
        live: () => db.batch<T>(statements.map((s) => s.real)),
      });
    },
    exec: (sql: string) =>
      bindingCall<D1ExecResult>(name, {
        op: "exec",
        write: isWriteSql(sql),
        request: { sql },
        live: () => db.exec(sql),
      }),
  };
  return wrapper as unknown as D1Database;
}

export const d1Binding: BindingBoundary = {
  name: "d1",
  matches: (v) => hasMethods(v, "prepare", "batch", "exec"),
  wrap: (binding, name) => wrapD1(binding as D1Database, name),
};
