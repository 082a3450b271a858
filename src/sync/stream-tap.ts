/**
 * A pass-through for upload streams: counts bytes for progress and cuts the
 * stream when the run is stopped, so the destination sees an error instead
 * of a short body and commits nothing. With `limit`, a body that goes on
 * past it fails there, before the extra bytes go on (for a destination
 * that writes what it is given before it checks). It does not hash: the
 * destination verifies what it receives (see transfer.ts).
 */
import { ContentMismatchError } from "../digest/index.ts";

export function streamTap(options: { signal: AbortSignal; onBytes: (bytes: number) => void; limit?: number }): TransformStream<Uint8Array, Uint8Array> {
  const { signal, onBytes, limit } = options;
  let passed = 0;
  let onAbort: (() => void) | undefined;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      if (signal.aborted) {
        controller.error(signal.reason);
        return;
      }
      onAbort = () => controller.error(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    },
    transform(chunk, controller) {
      passed += chunk.byteLength;
      if (limit !== undefined && passed > limit) {
        controller.error(new ContentMismatchError("size", String(limit), `more than ${limit}`));
        return;
      }
      controller.enqueue(chunk);
      onBytes(chunk.byteLength);
    },
    flush() {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    },
  });
}
