/**
 * FluxRun's CBOR writer: the trace's data model (null, undefined, booleans, numbers, strings,
 * `Uint8Array`, `Date` as tag 1, arrays, plain objects) written into one growing buffer, with the
 * shortest heads. It writes what `_decode.ts` reads and nothing else; values outside the data
 * model are the recorder's to turn into markers before they get here (`recordable`). With
 * `compact`, it writes format version 3's profile (`_profile.ts`): table keys as integers and
 * repeated strings as references.
 * @module
 */
import { KEY_INDEX, MAX_REFS, REF_TAG, refMinLength } from "./_profile.js";

const enc = new TextEncoder();

/** False when `s` holds a lone surrogate, which UTF-8 cannot carry. */
function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (native) return native.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** UTF-8 of `s`, with each lone surrogate written as its own three bytes (WTF-8). */
function wtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else {
      out.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 0x3f),
        0x80 | ((c >> 6) & 0x3f),
        0x80 | (c & 0x3f),
      );
    }
  }
  return Uint8Array.from(out);
}

/** Bytes of a CBOR head whose argument is `arg`. */
export function headLength(arg: number): number {
  return arg < 24 ? 1 : arg < 0x100 ? 2 : arg < 0x10000 ? 3 : arg < 0x1_0000_0000 ? 5 : 9;
}

export class CborWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  /** The numbered strings (compact profile), and where each was written, to undo on rewind. */
  readonly #refs: Map<string, number> | null;
  readonly #refStrings: string[] = [];
  readonly #refStarts: number[] = [];

  constructor(size = 4096, options: { compact?: boolean } = {}) {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
    this.#refs = options.compact ? new Map() : null;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** Bytes the buffer holds before it grows. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Forgets what was written after `length` (a value that turned out not to fit the model). */
  rewind(length: number): void {
    this.#pos = Math.min(this.#pos, Math.max(0, length));
    const refs = this.#refs;
    if (!refs) return;
    while (this.#refStarts.length && this.#refStarts[this.#refStarts.length - 1]! >= this.#pos) {
      this.#refStarts.pop();
      refs.delete(this.#refStrings.pop()!);
    }
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /**
   * What was written, without a copy when it fills the buffer exactly (a writer sized to its
   * output, used once: ArrayBuffers are not cheap to allocate in workerd); a copy otherwise.
   */
  take(): Uint8Array {
    return this.#pos === this.#buf.length ? this.#buf : this.finish();
  }

  /** Starts over, keeping the buffer: one writer reused for every trace of an isolate. */
  reset(): void {
    this.#pos = 0;
    this.#refs?.clear();
    this.#refStrings.length = 0;
    this.#refStarts.length = 0;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** A head: major type and argument, in the fewest bytes. */
  head(major: number, arg: number): void {
    const m = major << 5;
    if (arg < 24) {
      this.#ensure(1);
      this.#buf[this.#pos++] = m | arg;
    } else if (arg < 0x100) {
      this.#ensure(2);
      this.#buf[this.#pos++] = m | 24;
      this.#buf[this.#pos++] = arg;
    } else if (arg < 0x10000) {
      this.#ensure(3);
      this.#buf[this.#pos++] = m | 25;
      this.#view.setUint16(this.#pos, arg);
      this.#pos += 2;
    } else if (arg < 0x1_0000_0000) {
      this.#ensure(5);
      this.#buf[this.#pos++] = m | 26;
      this.#view.setUint32(this.#pos, arg);
      this.#pos += 4;
    } else {
      this.#ensure(9);
      this.#buf[this.#pos++] = m | 27;
      this.#view.setUint32(this.#pos, Math.floor(arg / 0x1_0000_0000));
      this.#view.setUint32(this.#pos + 4, arg >>> 0);
      this.#pos += 8;
    }
  }

  #float(v: number): void {
    this.#ensure(9);
    if (Math.fround(v) === v || Number.isNaN(v)) {
      this.#buf[this.#pos++] = 0xfa;
      this.#view.setFloat32(this.#pos, v);
      this.#pos += 4;
    } else {
      this.#buf[this.#pos++] = 0xfb;
      this.#view.setFloat64(this.#pos, v);
      this.#pos += 8;
    }
  }

  number(v: number): void {
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
      if (v >= 0) this.head(0, v);
      else this.head(1, -1 - v);
    } else {
      this.#float(v);
    }
  }

  /** A map key: its index in `KEY_TABLE` in the compact profile, else a string. */
  key(k: string): void {
    if (this.#refs) {
      const index = KEY_INDEX.get(k);
      if (index !== undefined) {
        this.head(0, index);
        return;
      }
    }
    this.string(k);
  }

  string(s: string): void {
    const refs = this.#refs;
    if (!refs) {
      this.#literal(s);
      return;
    }
    const ref = refs.get(s);
    if (ref !== undefined) {
      this.head(6, REF_TAG);
      this.head(0, ref);
      return;
    }
    const start = this.#pos;
    const length = this.#literal(s);
    if (refs.size < MAX_REFS && length >= refMinLength(refs.size)) {
      refs.set(s, refs.size);
      this.#refStrings.push(s);
      this.#refStarts.push(start);
    }
  }

  /** A text string as it is; returns its UTF-8 length. */
  #literal(s: string): number {
    const n = s.length;
    // ASCII short strings: one byte per character, written in the same pass that checks them;
    // a non-ASCII character leaves the position where it was.
    if (n < 24) {
      this.#ensure(n + 1);
      const buf = this.#buf;
      const start = this.#pos;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[start] = 0x60 | n;
        this.#pos = p;
        return n;
      }
    }
    if (!isWellFormed(s)) {
      // A lone surrogate (a string cut inside an emoji) survives as the reader expects it.
      const b = wtf8(s);
      this.head(3, b.length);
      this.raw(b);
      return b.length;
    }
    // Room for the longest encoding behind the longest head it could need, then the actual head.
    const max = n * 3;
    const headSize = headLength(max);
    // Enough that writing the head below cannot grow (and so move) the buffer.
    this.#ensure(headSize + max + 9);
    const at = this.#pos + headSize;
    const { written } = enc.encodeInto(s, this.#buf.subarray(at));
    this.head(3, written);
    if (this.#pos !== at) this.#buf.copyWithin(this.#pos, at, at + written);
    this.#pos += written;
    return written;
  }

  /** Bytes as they are, no head (the contents of a byte string whose head was written). */
  raw(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  bytes(b: Uint8Array): void {
    this.head(2, b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /**
   * Any value of the data model. A value outside it (a function, a BigInt, a Map, a class
   * instance, a cycle or anything nested deeper than 64) throws a TypeError; what was written of
   * it is left for the caller to {@link rewind}.
   */
  value(v: unknown, depth = 0): void {
    switch (typeof v) {
      case "string":
        this.string(v);
        return;
      case "number":
        this.number(v);
        return;
      case "boolean":
        this.#ensure(1);
        this.#buf[this.#pos++] = v ? 0xf5 : 0xf4;
        return;
      case "undefined":
        this.#ensure(1);
        this.#buf[this.#pos++] = 0xf7;
        return;
      case "object":
        break;
      default:
        throw new TypeError(`A ${typeof v} is outside the trace's data model`);
    }
    if (v === null) {
      this.#ensure(1);
      this.#buf[this.#pos++] = 0xf6;
      return;
    }
    if (depth > 64) throw new TypeError("A value nested deeper than 64 levels (or a cycle)");
    if (v instanceof Uint8Array) {
      this.bytes(v);
    } else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1);
    } else if (v instanceof Date) {
      this.head(6, 1);
      this.number(v.getTime() / 1000);
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `A ${Object.prototype.toString.call(v)} is outside the trace's data model`,
        );
      }
      const keys = Object.keys(v);
      this.head(5, keys.length);
      for (const k of keys) {
        this.key(k);
        this.value((v as Record<string, unknown>)[k], depth + 1);
      }
    }
  }
}

/**
 * A writer reused for every trace of an isolate (an ArrayBuffer is not cheap to allocate in
 * workerd): each `write` starts it over, fills it synchronously and hands back a copy; a writer a
 * large trace grew past `keep` bytes is let go rather than kept for the isolate's lifetime.
 */
export class ReusedWriter {
  #writer: CborWriter | undefined;

  constructor(
    readonly size: number,
    readonly options: { compact?: boolean } = {},
    readonly keep = 256 * 1024,
  ) {}

  write(fill: (w: CborWriter) => void): Uint8Array {
    const w = (this.#writer ??= new CborWriter(this.size, this.options));
    w.reset();
    fill(w);
    const out = w.finish();
    if (w.capacity > this.keep) this.#writer = undefined;
    return out;
  }
}

/** One value as CBOR (in format version 3's compact profile with `compact`). */
export function encode(value: unknown, options: { compact?: boolean } = {}): Uint8Array {
  const w = new CborWriter(4096, options);
  w.value(value);
  return w.finish();
}
