/**
 * The two contracts every boundary module implements. Shared code asks the module; it never
 * switches on a kind's name.
 * @module
 */

/** A boundary that patches a global (fetch, Date, crypto, console, caches). */
export interface GlobalBoundary {
  readonly name: string;
  /** Installs the patch once; patched functions defer to the current session, if any. */
  install(): void;
}

/** How a wrangler config declares bindings of one kind, and how replay provides them. */
export interface BindingConfig {
  /** Top-level wrangler config key (`kv_namespaces`, `r2_buckets`, `queues`...). */
  readonly wranglerKey: string;
  /** Binding names declared under that key. */
  names(section: unknown): string[];
  /**
   * Miniflare options that give replay an empty local binding of each name (never the real
   * data: every operation is served from the trace). Absent: replay uses a stand-in. `config`
   * is the whole wrangler config, for kinds that need more than their own section.
   */
  miniflare?(names: readonly string[], config: Record<string, unknown>): Record<string, unknown>;
}

/** A binding kind (KV, R2, D1, Queue, service, Durable Object namespace, or unsupported). */
export interface BindingKind {
  readonly name: string;
  /** `constructor.name` of real bindings of this kind in workerd (`KvNamespace`). */
  readonly constructorNames: readonly string[];
  /** Detection on hosts with other class names; never by probing RPC stubs. */
  matches?(value: object): boolean;
  /** True when replay can serve its operations from the trace. */
  readonly replayable: boolean;
  /** The wrapper: a Proxy over `binding` driven by the kind's operation table. */
  wrap(binding: object, name: string, options?: { standIn?: boolean }): object;
  /** Its wrangler config key and replay provisioning. */
  readonly config?: BindingConfig;
  /** What preflight says about this kind, in one sentence. */
  readonly note: string;
}

/** Entries of a wrangler array section, each mapped to its binding name. */
export function bindingNames(section: unknown, field = "binding"): string[] {
  if (!Array.isArray(section)) return [];
  return section
    .map((b) => (b as Record<string, unknown> | null)?.[field])
    .filter((n): n is string => typeof n === "string");
}
