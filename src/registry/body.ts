/** Request bodies: errors while reading become client errors, manifests are read with a cap. */
import { MANIFEST_SIZE_MAX, OciError } from "../oci/index.ts";

/** Body bytes read through requestBody, per request (for metrics). */
const bytesRead = new WeakMap<Request, number>();

export function bodyBytesRead(request: Request): number {
  return bytesRead.get(request) ?? 0;
}

/**
 * The request body, with read failures (a dropped connection, a body
 * shorter than announced) reported as BLOB_UPLOAD_INVALID rather than as
 * a server fault. Undefined when there is no body.
 */
export function requestBody(request: Request): ReadableStream<Uint8Array> | undefined {
  const body = request.body;
  if (!body) return undefined;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: Awaited<ReturnType<typeof reader.read>>;
      try {
        result = await reader.read();
      } catch (error) {
        controller.error(new OciError("BLOB_UPLOAD_INVALID", `the request body could not be read: ${(error as Error).message}`));
        return;
      }
      if (result.done) {
        controller.close();
      } else {
        bytesRead.set(request, (bytesRead.get(request) ?? 0) + result.value.byteLength);
        controller.enqueue(result.value);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** A declared Content-Length, or undefined. Throws SIZE_INVALID for a malformed one. */
export function contentLength(request: Request): number | undefined {
  const header = request.headers.get("content-length");
  if (header === null) return undefined;
  const value = Number(header);
  if (!/^\d+$/.test(header.trim()) || !Number.isSafeInteger(value)) {
    throw new OciError("SIZE_INVALID", `invalid Content-Length ${JSON.stringify(header.slice(0, 50))}`);
  }
  return value;
}

/** The manifest body, refused past the 4 MiB limit without reading further. */
export async function readManifestBody(request: Request): Promise<Uint8Array> {
  const tooBig = (n: string) =>
    new OciError("MANIFEST_INVALID", `manifest is ${n} bytes; the limit is ${MANIFEST_SIZE_MAX}`, undefined, 413);
  const declared = contentLength(request);
  if (declared !== undefined && declared > MANIFEST_SIZE_MAX) throw tooBig(String(declared));
  const body = requestBody(request);
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    // Throwing inside for-await cancels the body: nothing more is read.
    if (total > MANIFEST_SIZE_MAX) throw tooBig(`more than ${MANIFEST_SIZE_MAX}`);
    chunks.push(chunk);
  }
  if (declared !== undefined && declared !== total) {
    throw new OciError("SIZE_INVALID", `Content-Length says ${declared} bytes, the body has ${total}`);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
