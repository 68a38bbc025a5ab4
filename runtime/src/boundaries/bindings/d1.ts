/**
 * D1: `prepare` and `bind` build statements (no IO); `first`, `all`, `run`, `raw`, `batch` and
 * `exec` are calls; `withSession` opens a session (Sessions API) whose `prepare`, `batch` and
 * `getBookmark` are recorded the same way. A statement is a write unless its SQL starts with
 * SELECT, WITH ... SELECT, EXPLAIN or a read-only PRAGMA.
 * @module
 */
import { bindingNames, type BindingKind } from "../_boundary.js";
import {
  handleOf,
  standIn,
  wrapWithTable,
  type ChildOperation,
  type Handle,
  type OperationTable,
} from "./_table.js";

const READ_SQL =
  /^\s*(?:select|explain|pragma\s+\w+\s*(?:;|$)|with\b[\s\S]*\bselect\b(?![\s\S]*\b(?:insert|update|delete|replace)\b))/i;

/** True when a statement may change data. */
export function isWriteSql(sql: string): boolean {
  return !READ_SQL.test(sql);
}

interface Statement {
  sql: string;
  params: unknown[];
}

function statementOp(op: string): OperationTable<Statement>["ops"][string] {
  return {
    type: "call",
    write: ({ h }) => isWriteSql(h.state.sql),
    request: ({ h, args: [arg] }) => ({
      request: { sql: h.state.sql, params: h.state.params, arg: arg ?? null },
    }),
    live: ({ h }, args) => {
      const real = h.real as D1PreparedStatement;
      // `first()` and `first(undefined)` differ in workerd: pass only what the app passed.
      const method = real[op as "first"] as (...a: unknown[]) => Promise<unknown>;
      return Reflect.apply(method, real, args[0] === undefined ? [] : args);
    },
  };
}

const STATEMENT: OperationTable<Statement> = {
  ops: {
    bind: {
      type: "child",
      make: (h, values) =>
        statement(h, () => (h.real as D1PreparedStatement).bind(...values), {
          sql: h.state.sql,
          params: values,
        }),
    },
    first: statementOp("first"),
    all: statementOp("all"),
    run: statementOp("run"),
    raw: statementOp("raw"),
  },
};

/** A wrapped statement over the real one (`make` on the real parent), or a stand-in. */
function statement(parent: Handle<unknown>, make: () => object, state: Statement): object {
  let real: object | undefined;
  if (!parent.standIn) {
    try {
      real = make();
    } catch {
      real = undefined;
    }
  }
  return wrapWithTable(real ?? standIn("D1PreparedStatement"), STATEMENT, {
    binding: parent.binding,
    target: parent.target,
    state,
    standIn: real === undefined,
  });
}

const prepare: ChildOperation = {
  type: "child",
  make: (h, [sql]) =>
    statement(h, () => (h.real as D1Database).prepare(sql as string), {
      sql: String(sql),
      params: [],
    }),
};

const batch: OperationTable["ops"][string] = {
  type: "call",
  write: ({ args: [statements] }) => statementsOf(statements).some((s) => isWriteSql(s.state.sql)),
  request: ({ args: [statements] }) => ({ request: statementsOf(statements).map((s) => s.state) }),
  live: ({ h, args: [statements] }) =>
    (h.real as D1Database).batch(
      statementsOf(statements).map((s) => s.real as D1PreparedStatement),
    ),
};

function statementsOf(value: unknown): Handle<Statement>[] {
  const list = Array.isArray(value) ? value : [];
  const handles = list.map((s) => handleOf<Statement>(s));
  if (!handles.length || handles.some((h) => h === undefined || !("sql" in (h.state ?? {})))) {
    throw new TypeError("D1 batch() takes statements prepared on the same binding");
  }
  return handles as Handle<Statement>[];
}

const SESSION: OperationTable = {
  ops: {
    prepare,
    batch,
    getBookmark: { type: "sync", request: () => ({ request: null }) },
  },
};

const TABLE: OperationTable = {
  ops: {
    prepare,
    batch,
    exec: {
      type: "call",
      write: ({ args: [sql] }) => isWriteSql(String(sql)),
      request: ({ args: [sql] }) => ({ request: { sql } }),
    },
    withSession: {
      type: "child",
      make(h, args) {
        let real: object | undefined;
        if (!h.standIn) {
          try {
            real = Reflect.apply((h.real as D1Database).withSession, h.real, args) as object;
          } catch {
            real = undefined;
          }
        }
        return wrapWithTable(real ?? standIn("D1DatabaseSession"), SESSION, {
          binding: h.binding,
          target: h.target,
          state: undefined,
          standIn: real === undefined,
        });
      },
    },
  },
};

export const d1Binding: BindingKind = {
  name: "d1",
  constructorNames: ["D1Database"],
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "d1_databases",
    names: (section) => bindingNames(section),
    miniflare: (names) => ({ d1Databases: [...names] }),
  },
  note: "D1 statements, batches, exec and sessions are served from the trace; writes never run",
};
