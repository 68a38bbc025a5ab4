/**
 * What an issue's fingerprint takes of the thrown error's top user frame. The runtime writes the
 * frame as a short string of the deployed bundle (function and `file:line:column`); bundle lines
 * move with every deploy, so the key is the function and the bundle file name, and the position
 * only when the function is anonymous (nothing steadier is known then).
 * @module
 */

const POSITION = /([^\s()@]+):(\d+):(\d+)/;

/**
 * The fingerprint part of a top frame, or null when none was recorded (the fingerprint then stays
 * what it was before frames were recorded, so existing issues keep their executions).
 *
 * @example
 * ```ts
 * frameKey("priceOf (index.js:11997:42)"); // "priceOf index.js"
 * frameKey("index.js:11997:42"); // "index.js:11997:42"
 * ```
 */
export function frameKey(topFrame: string | undefined | null): string | null {
  const frame = topFrame?.trim();
  if (!frame) return null;
  const pos = POSITION.exec(frame);
  if (!pos) return frame.slice(0, 256);
  const file =
    pos[1]!
      .replace(/[?#].*$/, "")
      .split(/[\\/]/)
      .pop() || pos[1]!;
  const fn = frame
    .replace(pos[0], " ")
    .replace(/^\s*at\s+/, "")
    .replace(/[()@]/g, " ")
    .trim()
    .replace(/\s+/g, " ");
  const anonymous = !fn || /^<?anonymous>?$/.test(fn);
  return (anonymous ? `${file}:${pos[2]}:${pos[3]}` : `${fn} ${file}`).slice(0, 256);
}
