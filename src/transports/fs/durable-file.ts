/**
 * Atomic, durable file commits: write a temporary file in the target's
 * directory, flush it to disk, rename it into place, then flush the
 * directory so the rename itself survives a crash. Readers see the old
 * content or the new, never a part.
 */
import { randomUUID } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary name next to `path` (same filesystem, so rename is atomic). */
export function tempPathFor(path: string, directory = dirname(path)): string {
  return join(directory, `.${basename(path)}.tmp-${randomUUID().slice(0, 12)}`);
}

/** fsync a directory, so entries renamed into it are durable. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write all of `chunk` at the handle's position (write may be partial). */
export async function writeAll(handle: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Stream into a new temporary file, fsync it, rename it to `path`, fsync the
 * directory. If the stream fails (e.g. a digest mismatch raised by a
 * verifying transform) the temporary file is removed and `path` untouched.
 * Returns the number of bytes written.
 */
export async function commitStream(
  path: string,
  body: ReadableStream<Uint8Array>,
  options: { tempDirectory?: string } = {},
): Promise<number> {
  const temp = tempPathFor(path, options.tempDirectory);
  const handle = await open(temp, "wx", 0o644);
  let size = 0;
  let committed = false;
  try {
    for await (const chunk of body) {
      await writeAll(handle, chunk, size);
      size += chunk.byteLength;
    }
    await handle.sync();
    await handle.close();
    await rename(temp, path);
    committed = true;
    await syncDirectory(dirname(path));
    return size;
  } finally {
    if (!committed) {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
    }
  }
}

/** Atomically replace `path` with these bytes. */
export function commitBytes(path: string, bytes: Uint8Array, options: { tempDirectory?: string } = {}): Promise<number> {
  return commitStream(path, new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), options);
}
