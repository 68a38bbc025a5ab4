/**
 * Bindings FluxRun cannot serve in replay (AI, Vectorize, Browser Rendering, Analytics Engine,
 * Hyperdrive, Workflows, mTLS, dispatch namespaces...). The wrapper passes everything through;
 * every method call is recorded as `unsupported` (run live when recording, refused in replay) and
 * primitive configuration (a Hyperdrive's `connectionString`) is recorded as an env read.
 * @module
 */
import type { BindingKind } from "../_boundary.js";
import { wrapWithTable, type OperationTable } from "./_table.js";

const TABLE: OperationTable = { ops: {}, recordProperties: true };

export const unsupportedBinding: BindingKind = {
  name: "unsupported",
  constructorNames: [],
  matches: (v) => {
    const proto = Object.getPrototypeOf(v) as unknown;
    return proto !== Object.prototype && proto !== null && !Array.isArray(v);
  },
  replayable: false,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  note: "Calls on this binding are recorded as unsupported and refused in replay",
};
