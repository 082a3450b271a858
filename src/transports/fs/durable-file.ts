/**
 * Atomic, durable file commits: write a temporary file in the target's
 * directory, flush it to disk, rename it into place, then flush the
 * directory so the rename itself survives a crash. Readers see the old
 * content or the new, never a part.
 */
import { randomUUID } from "node:crypto";
import { type FileHandle, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { BunFile } from "bun";
import { ContentMismatchError, type Digest, verifyFile } from "../../digest/index.ts";

/**
 * A temporary name next to `path` (same filesystem, so rename is atomic).
 * It carries this process's id, so that what a process killed before its
 * commit left behind can be told from what a live one is writing
 * (removeAbandonedTemps).
 */
export function tempPathFor(path: string, directory = dirname(path)): string {
  return join(directory, `.${basename(path)}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`);
}

const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Remove the temporary files and staging directories (tempPathFor names)
 * in `directory` whose process is gone: left by a kill -9 or a power loss
 * before their commit, each as big as what it was writing. Those of live
 * processes stay (the check is by pid, so for directories written from
 * one host). With `target`, only the temporaries of that file name.
 * Returns how many were removed.
 */
export async function removeAbandonedTemps(directory: string, target?: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match || (target !== undefined && match[1] !== target) || isRunning(Number(match[2]))) continue;
    await rm(join(directory, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
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
 * A file written under a temporary name beside `path` (at any offsets),
 * then either committed (fsync, rename into place, fsync of the directory)
 * or discarded (removed; `path` untouched).
 */
export class TempFile {
  #settled = false;

  private constructor(
    readonly path: string,
    readonly temp: string,
    readonly handle: FileHandle,
  ) {}

  static async create(path: string, options: { tempDirectory?: string } = {}): Promise<TempFile> {
    const temp = tempPathFor(path, options.tempDirectory);
    return new TempFile(path, temp, await open(temp, "wx", 0o644));
  }

  write(bytes: Uint8Array, position: number): Promise<void> {
    return writeAll(this.handle, bytes, position);
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.path);
    this.#settled = true;
    await syncDirectory(dirname(this.path));
  }

  /** Remove the temporary file; after a commit, nothing. */
  async discard(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.handle.close().catch(() => {});
    await unlink(this.temp).catch(() => {});
  }
}

/**
 * Stream into a new temporary file and commit it to `path`. If the stream
 * fails (e.g. a digest mismatch raised by a verifying transform) the
 * temporary file is removed and `path` untouched. Returns the number of
 * bytes written.
 */
export async function commitStream(
  path: string,
  body: ReadableStream<Uint8Array>,
  options: { tempDirectory?: string } = {},
): Promise<number> {
  const file = await TempFile.create(path, options);
  let size = 0;
  try {
    for await (const chunk of body) {
      await file.write(chunk, size);
      size += chunk.byteLength;
    }
    await file.commit();
    return size;
  } finally {
    await file.discard();
  }
}

/** Atomically replace `path` with these bytes. */
export function commitBytes(path: string, bytes: Uint8Array, options: { tempDirectory?: string } = {}): Promise<number> {
  return commitStream(path, new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), options);
}

/** How often the bytes of a body being written are counted (by the size of its file). */
export const PROGRESS_INTERVAL_MS = 250;

export interface BodyOptions {
  /** Bytes written, as the file grows (a count since the last call). */
  onProgress?: (bytes: number) => void;
  /** Nothing is kept once it aborts. */
  signal?: AbortSignal;
}

/**
 * Write a body to the new file `temp` without passing it through
 * JavaScript: Bun.write copies a file body in the kernel and takes a
 * transport's stream straight from the socket (a stream made in
 * JavaScript works too, chunk by chunk). Returns the bytes written. On
 * failure or abort the file is removed. The body is not checked here:
 * verify the file before trusting it.
 */
export async function writeBody(temp: string, body: Blob | ReadableStream<Uint8Array>, options: BodyOptions = {}): Promise<number> {
  const { onProgress, signal } = options;
  let counted = 0;
  let finished = false;
  const count = (size: number) => {
    if (size > counted) onProgress?.(size - counted);
    counted = Math.max(counted, size);
  };
  const timer = onProgress
    ? setInterval(() => void stat(temp).then((info) => finished || count(info.size), () => {}), PROGRESS_INTERVAL_MS)
    : undefined;
  try {
    signal?.throwIfAborted();
    const input = await forBunWrite(body);
    const written = await (input instanceof Blob ? Bun.write(temp, input) : Bun.write(temp, input));
    signal?.throwIfAborted();
    finished = true;
    count(written);
    return written;
  } catch (error) {
    finished = true;
    await unlink(temp).catch(() => {});
    throw error;
  } finally {
    clearInterval(timer);
  }
}

/**
 * A body as Bun.write can be given it. Bun (1.4) writes a Blob that is a
 * slice of a file, or a stream of one, by copying the whole file; so a
 * file's Blob goes to it only when it is all of its file (then the copy
 * is copy_file_range, in the kernel), any other slice as a stream Bun
 * cannot see through. Bytes in memory, and a transport's own stream, go
 * as they are.
 */
export async function forBunWrite(body: Blob | ReadableStream<Uint8Array>): Promise<Blob | Response> {
  if (!(body instanceof Blob)) return new Response(body);
  const name = (body as Partial<BunFile>).name;
  if (typeof name !== "string") return body;
  const fileSize = await stat(name).then(
    (info) => (info.isFile() ? info.size : undefined),
    () => undefined,
  );
  if (fileSize === body.size) return Bun.file(name);
  return new Response(opaque(body.stream()));
}

/** The same bytes, through a stream of JavaScript's own. */
function opaque(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * Store a body at `path` only if it is exactly the content `expected`
 * names: written beside it without passing through JavaScript
 * (writeBody), verified from the file on a worker thread (a file body of
 * the wrong size is refused before a byte is copied), then committed
 * (fsync, rename, directory fsync). On a mismatch, an abort or any
 * failure, `path` is untouched and nothing is left beside it. Returns
 * the bytes stored.
 */
export async function commitVerified(
  path: string,
  body: Blob | ReadableStream<Uint8Array>,
  expected: { digest: Digest; size?: number },
  options: BodyOptions & { tempDirectory?: string } = {},
): Promise<number> {
  if (body instanceof Blob && expected.size !== undefined && body.size !== expected.size) {
    throw new ContentMismatchError("size", String(expected.size), String(body.size));
  }
  const temp = tempPathFor(path, options.tempDirectory);
  const size = await writeBody(temp, body, options);
  try {
    await verifyFile(temp, expected);
    options.signal?.throwIfAborted();
    const handle = await open(temp, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dirname(path));
  return size;
}
