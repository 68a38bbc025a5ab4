// The one Node API the core uses; workerd (nodejs_compat), Deno and Node all provide it.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, fn: () => R): R;
  }
}
