/**
 * What an upload reads from. A Blob (a file, a slice of a tar) can be sent
 * again from any offset, without copying through JavaScript; a function
 * `(offset) => body` can too; a bare stream can be read once.
 */

export type UploadBody = Blob | ReadableStream<Uint8Array> | Uint8Array;

export interface UploadSource {
  /** Total bytes, when known. */
  readonly size?: number;
  /** True when `open` may be called again (retry, resume); false for a one-shot stream. */
  readonly replayable: boolean;
  /** The bytes from `offset` to the end. */
  open(offset: number): UploadBody;
}

export function toUploadSource(body: UploadBody | ((offset: number) => UploadBody), size?: number): UploadSource {
  if (typeof body === "function") return { size, replayable: true, open: body };
  if (body instanceof Blob) return { size: size ?? body.size, replayable: true, open: (offset) => (offset ? body.slice(offset) : body) };
  if (body instanceof Uint8Array) return { size: size ?? body.byteLength, replayable: true, open: (offset) => body.subarray(offset) };
  let used = false;
  return {
    size,
    replayable: false,
    open(offset) {
      if (used || offset !== 0) throw new Error("a stream body can be read only once");
      used = true;
      return body;
    },
  };
}

/** The byte length of a body, when it has one without reading it. */
export function bodyLength(body: UploadBody): number | undefined {
  if (body instanceof Blob) return body.size;
  if (body instanceof Uint8Array) return body.byteLength;
  return undefined;
}

/**
 * Cut a source into chunks of at most `chunkSize` bytes, starting at
 * `offset`. Blob and byte sources are sliced (no copy); a stream is read
 * into one buffer per chunk, so memory stays at one chunk.
 */
export async function* chunksOf(source: UploadSource, offset: number, chunkSize: number): AsyncGenerator<{ start: number; body: Blob | Uint8Array }> {
  const body = source.open(offset);
  if (!(body instanceof ReadableStream)) {
    const total = bodyLength(body)!;
    for (let pos = 0; pos < total; pos += chunkSize) {
      const end = Math.min(total, pos + chunkSize);
      yield { start: offset + pos, body: body instanceof Blob ? body.slice(pos, end) : body.subarray(pos, end) };
    }
    return;
  }
  let start = offset;
  let buffer = new Uint8Array(chunkSize);
  let filled = 0;
  for await (const piece of body) {
    let consumed = 0;
    while (consumed < piece.byteLength) {
      const n = Math.min(chunkSize - filled, piece.byteLength - consumed);
      buffer.set(piece.subarray(consumed, consumed + n), filled);
      filled += n;
      consumed += n;
      if (filled === chunkSize) {
        yield { start, body: buffer };
        start += filled;
        buffer = new Uint8Array(chunkSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield { start, body: buffer.subarray(0, filled) };
}
