/**
 * A Durable Object's own state (`ctx.storage`): the key-value API (get, put, delete, deleteAll,
 * list, alarms, transactions), the SQL API (`sql.exec`, whose cursor is read whole) and the
 * synchronous KV API (`kv.get`...). Events have kind `storage` and target `storage`. In replay
 * every operation is served from the trace and nothing is written.
 * @module
 */
import { isWriteSql } from "./bindings/d1.js";
import {
  standIn,
  wrapWithTable,
  type CallOperation,
  type DirectOperation,
  type Handle,
  type OperationTable,
} from "./bindings/_table.js";

/** `get(keys[])` and `list()` answer Maps: recorded as their entries. */
function mapData(value: unknown): unknown {
  return value instanceof Map ? { entries: [...(value as Map<unknown, unknown>)] } : value;
}

function mapFrom(data: unknown): unknown {
  const entries = (data as { entries?: [unknown, unknown][] } | null)?.entries;
  return Array.isArray(entries) && Object.keys(data as object).length === 1
    ? new Map(entries)
    : data;
}

const read = (method: string): CallOperation => ({
  type: "call",
  request: ({ args }) => ({ request: { method, args } }),
  capture: mapData,
  revive: mapFrom,
});

const write: CallOperation = {
  type: "call",
  write: true,
  void: true,
  request: ({ args }) => ({ request: args }),
  capture: () => null,
  revive: () => undefined,
};

interface CursorData {
  columnNames: string[];
  rows: unknown[][];
  rowsRead: number;
  rowsWritten: number;
}

/** A SqlStorageCursor over recorded rows: iteration, toArray, one, raw, next. */
function cursorFrom(data: CursorData): object {
  const objects = data.rows.map((r) =>
    Object.fromEntries(data.columnNames.map((c, i) => [c, r[i]])),
  );
  let at = 0;
  const next = () =>
    at < objects.length ? { done: false, value: objects[at++] } : { done: true, value: undefined };
  const cursor = Object.assign(standIn("SqlStorageCursor"), {
    columnNames: data.columnNames,
    rowsRead: data.rowsRead,
    rowsWritten: data.rowsWritten,
    next,
    toArray: () => objects.slice(at).map((o) => (at++, o)),
    one() {
      if (objects.length !== 1) {
        throw new Error(
          objects.length
            ? "Expected exactly one result from SQL query, but got multiple results."
            : "Expected exactly one result from SQL query, but got no results.",
        );
      }
      at = 1;
      return objects[0];
    },
    raw: () => {
      const rows = data.rows.slice(at);
      at = objects.length;
      return Object.assign(rows[Symbol.iterator](), { toArray: () => rows });
    },
    [Symbol.iterator]: () => ({
      next,
      [Symbol.iterator]() {
        return this;
      },
    }),
  });
  return cursor;
}

const SQL: OperationTable = {
  kind: "storage",
  recordProperties: true,
  ops: {
    exec: {
      type: "sync",
      write: ({ args: [query] }) => isWriteSql(String(query)),
      request: ({ args: [query, ...bindings] }) => ({ request: { query, bindings } }),
      capture(value) {
        const c = value as SqlStorageCursor<Record<string, SqlStorageValue>>;
        const rows = [...c.raw()] as unknown[][];
        return {
          columnNames: c.columnNames,
          rows,
          rowsRead: c.rowsRead,
          rowsWritten: c.rowsWritten,
        } satisfies CursorData;
      },
      revive: (data) => cursorFrom(data as CursorData),
    },
  },
};

const SYNC_KV: OperationTable = {
  kind: "storage",
  ops: {
    get: { type: "sync", request: ({ args }) => ({ request: { method: "kv.get", args } }) },
    list: {
      type: "sync",
      request: ({ args }) => ({ request: { method: "kv.list", args } }),
      capture: (value) => ({ entries: [...(value as Iterable<[unknown, unknown]>)] }),
      revive: (data) => (data as { entries: [unknown, unknown][] }).entries[Symbol.iterator](),
    },
    put: { type: "sync", write: true, request: ({ args }) => ({ request: args }) },
    delete: { type: "sync", write: true, request: ({ args }) => ({ request: args }) },
  },
};

function transaction(sync: boolean): DirectOperation {
  return {
    type: "direct",
    invoke(h, [closure, ...rest], session) {
      const fn = closure as (txn: unknown) => unknown;
      const replay = session?.mode === "replay" || h.standIn;
      if (replay) return fn(wrapStorage(standIn("DurableObjectTransaction")));
      const real = Reflect.get(h.real, sync ? "transactionSync" : "transaction") as (
        ...a: unknown[]
      ) => unknown;
      return Reflect.apply(real, h.real, [
        (txn: object) => fn(sync ? txn : wrapStorage(txn)),
        ...rest,
      ]);
    },
  };
}

const STORAGE: OperationTable = {
  kind: "storage",
  ops: {
    get: read("get"),
    list: read("list"),
    getAlarm: read("getAlarm"),
    put: write,
    delete: { ...write, void: false, capture: (v) => v, revive: (v) => v },
    deleteAll: write,
    setAlarm: write,
    deleteAlarm: write,
    rollback: { type: "sync", write: true, request: () => ({ request: null }) },
    sync: { type: "call", request: () => ({ request: null }), capture: () => null },
    transaction: transaction(false),
    transactionSync: transaction(true),
  },
  children: {
    sql: (value, h: Handle) => child(value, SQL, "SqlStorage", h),
    kv: (value, h: Handle) => child(value, SYNC_KV, "SyncKvStorage", h),
  },
};

function child(value: unknown, table: OperationTable, name: string, parent: Handle): unknown {
  const real = typeof value === "object" && value !== null ? value : undefined;
  if (!real && !parent.standIn) return value;
  return wrapWithTable(real ?? standIn(name), table, {
    binding: "storage",
    target: "storage",
    state: undefined,
    standIn: real === undefined,
  });
}

/**
 * The wrapped storage of a Durable Object. Its operations go through the current session: live
 * when recording, served from the trace in replay (the real storage is never touched then).
 */
export function wrapStorage(storage: object): object {
  return wrapWithTable(storage, STORAGE, {
    binding: "storage",
    target: "storage",
    state: undefined,
  });
}
