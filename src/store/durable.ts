/**
 * Durability on a local filesystem: Bun.write does not fsync, so files and
 * the directories holding renamed entries are flushed explicitly.
 */
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";

/** Flush a directory, so a rename or create inside it survives a crash. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p, flushing each parent of a directory it created, so the new
 * directory entries are durable before anything is renamed into them.
 */
export async function mkdirDurable(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    await fsyncDir(dirname(dir));
    if (dir === first || dirname(dir) === dir) break;
  }
}

/** Write all of `bytes` at `position` (a single write may be short). */
export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}

export const isNotFound = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
