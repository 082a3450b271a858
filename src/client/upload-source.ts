/**
 * What an upload reads from. A Blob (a file, a slice of a tar) can be sent
 * again from any offset, without copying through JavaScript; a function
 * `(offset) => body` can too; a bare stream can be read once.
 *
 * A declared size is held to: a Blob or bytes of another length are
 * refused before anything is sent, and a stream is counted as it passes and
 * errors (failing the request it feeds) the moment it runs over or ends
 * short. The registry only checks the digest, so right bytes under a wrong
 * size would otherwise be accepted.
 */
import { OciError } from "../oci/index.ts";

export type UploadBody = Blob | ReadableStream<Uint8Array> | Uint8Array;

export interface UploadSource {
  /** Total bytes, when known. */
  readonly size?: number;
  /** True when `open` may be called again (retry, resume); false for a one-shot stream. */
  readonly replayable: boolean;
  /** The bytes from `offset` to the end. */
  open(offset: number): UploadBody;
  /** The size mismatch a body opened here ran into, if one did. */
  sizeError(): OciError | undefined;
}

/**
 * An upload source for `body`, held to `declared` bytes when given. Throws
 * OciError SIZE_INVALID at once when the body's own length says otherwise.
 */
export function toUploadSource(body: UploadBody | ((offset: number) => UploadBody), declared?: number, what = "Cannot upload"): UploadSource {
  let failure: OciError | undefined;
  const fail = (error: OciError) => {
    failure ??= error;
    return failure;
  };
  /** The body from `offset`, checked against the bytes the declared size leaves. */
  const held = (opened: UploadBody, offset: number): UploadBody => {
    if (declared === undefined) return opened;
    const expected = declared - offset;
    if (opened instanceof ReadableStream) return opened.pipeThrough(exactLength(expected, offset, declared, what, fail));
    const length = bodyLength(opened)!;
    if (length !== expected) throw fail(sizeMismatch(what, declared, offset + length));
    return opened;
  };
  const sizeError = () => failure;
  if (typeof body === "function") return { size: declared, replayable: true, open: (offset) => held(body(offset), offset), sizeError };
  if (!(body instanceof ReadableStream)) {
    const total = bodyLength(body)!;
    if (declared !== undefined && declared !== total) throw fail(sizeMismatch(what, declared, total));
    const slice = (offset: number): UploadBody => (offset === 0 ? body : body instanceof Blob ? body.slice(offset) : body.subarray(offset));
    return { size: total, replayable: true, open: slice, sizeError };
  }
  let used = false;
  return {
    size: declared,
    replayable: false,
    open(offset) {
      if (used || offset !== 0) throw new Error("a stream body can be read only once");
      used = true;
      return held(body, 0);
    },
    sizeError,
  };
}

/** The byte length of a body, when it has one without reading it. */
export function bodyLength(body: UploadBody): number | undefined {
  if (body instanceof Blob) return body.size;
  if (body instanceof Uint8Array) return body.byteLength;
  return undefined;
}

function sizeMismatch(what: string, declared: number, actual: number | string): OciError {
  return new OciError("SIZE_INVALID", `${what}: the blob is declared as ${declared} bytes but its content is ${actual} bytes`);
}

/**
 * Pass exactly `expected` bytes: error before forwarding a byte too many,
 * and instead of closing when the stream ends short.
 */
function exactLength(
  expected: number,
  offset: number,
  declared: number,
  what: string,
  fail: (error: OciError) => OciError,
): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > expected) controller.error(fail(sizeMismatch(what, declared, `more than ${declared}`)));
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen < expected) controller.error(fail(sizeMismatch(what, declared, offset + seen)));
    },
  });
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
