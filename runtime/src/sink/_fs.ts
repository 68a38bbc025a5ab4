/**
 * The part of `node:fs/promises` the disk sinks use, loaded on first use so worker bundles never
 * pull it in (Deno supports the module too). The core has no Node types.
 * @module
 */

export interface FsPromises {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  writeFile(path: string, data: Uint8Array, options: { mode: number }): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
  stat(path: string): Promise<{ size: number }>;
}

// A specifier in a variable: bundlers leave it alone, and TypeScript needs no Node types for it.
const FS_MODULE = "node:fs/promises";
let fsModule: Promise<FsPromises> | undefined;

/** `node:fs/promises`, imported once. */
export function loadFs(): Promise<FsPromises> {
  fsModule ??= import(FS_MODULE) as Promise<FsPromises>;
  return fsModule;
}
