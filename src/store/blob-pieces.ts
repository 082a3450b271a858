/**
 * Reading a Blob body (a layout's file, a slice of an archive) piece by
 * piece into a buffer the caller owns, without a stream: a whole file
 * through its descriptor, anything else (a slice, bytes in memory) through
 * `slice().bytes()`. Never more than the Blob's size, even from a file
 * that grew meanwhile.
 */
import { type FileHandle, open } from "node:fs/promises";

export interface BlobPieces {
  /** Read up to `into.byteLength` bytes at `position`; 0 at the end. */
  read(into: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

export async function openBlobPieces(body: Blob): Promise<BlobPieces> {
  const size = body.size;
  const path = filePath(body);
  if (path !== undefined) {
    const handle = await open(path, "r").catch(() => undefined);
    if (handle) {
      // A slice of a file keeps the file's name but not its offset; only a Blob as long as the
      // file can start at 0, so only then is reading the file itself reading the Blob.
      if ((await handle.stat()).size === size) return fromFile(handle, size);
      await handle.close();
    }
  }
  return {
    async read(into, position) {
      const end = Math.min(size, position + into.byteLength);
      if (end <= position) return 0;
      const bytes = await body.slice(position, end).bytes();
      into.set(bytes);
      return bytes.byteLength;
    },
    async close() {},
  };
}

function fromFile(handle: FileHandle, size: number): BlobPieces {
  return {
    async read(into, position) {
      const length = Math.min(into.byteLength, size - position);
      if (length <= 0) return 0;
      return (await handle.read(into, 0, length, position)).bytesRead;
    },
    close: () => handle.close(),
  };
}

/** The path of a file Blob (`Bun.file(path)`, or a slice of one); undefined for other Blobs (a web File's name is no path). */
function filePath(body: Blob): string | undefined {
  const name = (body as Partial<Bun.BunFile>).name;
  return typeof name === "string" && !(body instanceof File) ? name : undefined;
}
