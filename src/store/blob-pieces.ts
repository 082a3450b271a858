/**
 * Reading a Blob body (a layout's file, a slice of an archive) piece by
 * piece, in order, into a buffer the caller owns: a whole file through its
 * descriptor, without a stream; anything else (a slice of an archive,
 * bytes in memory) through the Blob's own stream, copied into the
 * caller's buffer (a Blob slice does not tell its offset in the file, and
 * reading it a slice().bytes() at a time costs a file open per piece:
 * twice the time of an import). Never more than the Blob's size, even
 * from a file that grew meanwhile.
 */
import { type FileHandle, open } from "node:fs/promises";

export interface BlobPieces {
  /** Read up to `into.byteLength` bytes at `position` (each read where the last ended); 0 at the end. */
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
  return fromStream(body);
}

function fromStream(body: Blob): BlobPieces {
  const reader = body.stream().getReader();
  let chunk = new Uint8Array(0);
  let ended = false;
  let offset = 0;
  return {
    async read(into, position) {
      if (position !== offset) throw new Error(`Blob pieces are read in order: asked for ${position}, at ${offset}`);
      let filled = 0;
      while (filled < into.byteLength) {
        if (chunk.byteLength === 0) {
          if (ended) break;
          const next = await reader.read();
          if (next.done) {
            ended = true;
            break;
          }
          chunk = next.value;
          continue;
        }
        const n = Math.min(chunk.byteLength, into.byteLength - filled);
        into.set(chunk.subarray(0, n), filled);
        chunk = chunk.subarray(n);
        filled += n;
      }
      offset += filled;
      return filled;
    },
    close: () => reader.cancel().catch(() => undefined),
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
