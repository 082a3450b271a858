/**
 * A pass-through for upload streams: counts bytes for progress and cuts the
 * stream when the run is stopped, so the destination sees an error instead
 * of a short body and commits nothing. It does not hash: the destination
 * verifies what it receives (see transfer.ts).
 */
export function streamTap(options: { signal: AbortSignal; onBytes: (bytes: number) => void }): TransformStream<Uint8Array, Uint8Array> {
  const { signal, onBytes } = options;
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
      controller.enqueue(chunk);
      onBytes(chunk.byteLength);
    },
    flush() {
      if (onAbort) signal.removeEventListener("abort", onAbort);
    },
  });
}
