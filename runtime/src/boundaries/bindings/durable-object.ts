/**
 * Durable Object namespaces, on the caller's side: ids (`idFromName`, `newUniqueId`,
 * `idFromString`), stubs (`get`, `getByName`, `jurisdiction`) and the stub's `fetch` and JS RPC
 * calls. A stub's target is `BINDING/<first 16 hex digits of the id>`: names never appear in clear.
 * Replay serves ids and calls from the trace; no Durable Object runs.
 * @module
 */
import { bindingNames, type BindingKind } from "../_boundary.js";
import { fetchExchange, rpcCall } from "./service.js";
import {
  invokeOperation,
  standIn,
  wrapWithTable,
  type DirectOperation,
  type Handle,
  type OperationTable,
  type SyncOperation,
} from "./_table.js";

interface IdData {
  id: string;
  name: string | null;
}

/** A DurableObjectId-like value for replay: same string, name and equality. */
function idFrom(data: IdData): DurableObjectId {
  const id = Object.assign(standIn("DurableObjectId"), {
    toString: () => data.id,
    equals: (other: DurableObjectId) => String(other) === data.id,
    ...(data.name === null ? {} : { name: data.name }),
  });
  return id as unknown as DurableObjectId;
}

function idData(id: DurableObjectId): IdData {
  return { id: id.toString(), name: id.name ?? null };
}

const STUB: OperationTable = {
  ops: { fetch: fetchExchange },
  rpc: () => rpcCall,
};

function stubFor(ns: Handle, id: DurableObjectId, real: object | undefined): object {
  const hex = String(id);
  const target = real ?? Object.assign(standIn("DurableObject", true), { id, name: id.name });
  return wrapWithTable(target, STUB, {
    binding: ns.binding,
    target: `${ns.binding}/${hex.slice(0, 16)}`,
    state: undefined,
    standIn: real === undefined,
  });
}

/** A new id: recorded, because it is random (`newUniqueId`) or keyed by the account. */
function idOp(method: "idFromName" | "newUniqueId"): SyncOperation {
  return {
    type: "sync",
    request: ({ args }) => ({ request: method === "idFromName" ? { name: args[0] } : null }),
    capture: (id) => idData(id as DurableObjectId),
    revive: (data, _c, live) => (live as DurableObjectId | undefined) ?? idFrom(data as IdData),
  };
}

const get: DirectOperation = {
  type: "direct",
  invoke(h, args, session) {
    const id = args[0] as DurableObjectId;
    const replay = session?.mode === "replay";
    const real =
      replay || h.standIn
        ? undefined
        : (Reflect.apply((h.real as DurableObjectNamespace).get, h.real, args) as object);
    return stubFor(h, id, real);
  },
};

const TABLE: OperationTable = {
  ops: {
    idFromName: idOp("idFromName"),
    newUniqueId: idOp("newUniqueId"),
    idFromString: {
      type: "direct",
      invoke(h, args, session) {
        if (session?.mode !== "replay" && !h.standIn) {
          return Reflect.apply((h.real as DurableObjectNamespace).idFromString, h.real, args);
        }
        return idFrom({ id: String(args[0]), name: null });
      },
    },
    get,
    getByName: {
      type: "direct",
      invoke(h, args, session) {
        const id = invokeOperation(TABLE, "idFromName", h, [args[0]]) as DurableObjectId;
        return get.invoke(h, [id, ...args.slice(1)], session);
      },
    },
    jurisdiction: {
      type: "direct",
      invoke(h, args, session) {
        if (session?.mode === "replay" || h.standIn) {
          return durableObjectBinding.wrap(standIn("DurableObjectNamespace"), h.binding, {
            standIn: true,
          });
        }
        const real = (h.real as DurableObjectNamespace).jurisdiction(
          args[0] as DurableObjectJurisdiction,
        );
        return durableObjectBinding.wrap(real, h.binding);
      },
    },
  },
};

export const durableObjectBinding: BindingKind = {
  name: "durable_object",
  constructorNames: ["DurableObjectNamespace"],
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "durable_objects",
    names: (section) => bindingNames((section as { bindings?: unknown } | null)?.bindings, "name"),
    // A replayed Durable Object execution runs in a real (empty) instance of its own class, so
    // classes this worker defines are bound; objects of other workers are stand-ins.
    miniflare(names, config) {
      const section = config.durable_objects as
        { bindings?: Record<string, unknown>[] } | undefined;
      const sqlite = new Set(
        (Array.isArray(config.migrations) ? config.migrations : []).flatMap(
          (m: { new_sqlite_classes?: unknown }) =>
            Array.isArray(m?.new_sqlite_classes) ? (m.new_sqlite_classes as string[]) : [],
        ),
      );
      const objects: Record<string, { className: string; useSQLite: boolean }> = {};
      for (const b of section?.bindings ?? []) {
        if (typeof b.name !== "string" || !names.includes(b.name)) continue;
        if (typeof b.class_name !== "string" || typeof b.script_name === "string") continue;
        objects[b.name] = { className: b.class_name, useSQLite: sqlite.has(b.class_name) };
      }
      return Object.keys(objects).length ? { durableObjects: objects } : {};
    },
  },
  note: "Durable Object ids, stub fetch and RPC calls are served from the trace; no object runs",
};
