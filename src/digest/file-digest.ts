/**
 * Verifying a file on worker threads. A body Bun wrote to a file by
 * itself (Bun.write: copy_file_range for a file, the socket's bytes for a
 * fetch body) never passed through JavaScript; it is hashed here, from
 * the file as written, before anything makes it visible: one read of
 * the page cache and one hash, on another core than the one that
 * drives the transfers. Hashing on the main thread instead would make
 * that one thread the limit of every download (a core hashes ~2 GB/s).
 *
 *   await verifyFile(temp, { digest, size });                  // throws ContentMismatchError
 *   await verifyFile(tar, { digest, size }, { start: offset }); // the bytes at offset in a larger file
 *
 * Workers start on first use, at most one per core (four at most), and
 * never keep the process alive while idle.
 */
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { type Digest, type RegisteredAlgorithm, verifiableAlgorithm } from "./digest.ts";
import { ContentMismatchError } from "./verify-stream.ts";

export interface HashRequest {
  id: number;
  path: string;
  algorithm: RegisteredAlgorithm;
  /** Only these bytes of the file (fewer when it ends first). */
  range?: { start: number; length: number };
}

export type HashReply = { id: number; hex: string; size: number } | { id: number; error: { message: string; code?: string } };

export interface FileDigestOptions {
  algorithm?: RegisteredAlgorithm;
  /** Hash `length` bytes from `start` instead of the whole file. */
  range?: { start: number; length: number };
}

/** The digest and size of a file, computed on a worker thread. */
export async function digestFileOffThread(path: string, options: FileDigestOptions = {}): Promise<{ digest: Digest; size: number }> {
  const algorithm = options.algorithm ?? "sha256";
  const { hex, size } = await pool().run({ path, algorithm, ...(options.range ? { range: options.range } : {}) });
  return { digest: `${algorithm}:${hex}` as Digest, size };
}

/**
 * Check that the file at `path` (or, with `start`, the `size` bytes from
 * there) is exactly the content named by `digest`; a whole file of
 * another size than `size` is refused before a byte is read. Throws
 * ContentMismatchError on a difference, DigestError for an algorithm
 * that cannot be hashed.
 */
export async function verifyFile(path: string, expected: { digest: Digest; size?: number }, options: { start?: number } = {}): Promise<void> {
  const algorithm = verifiableAlgorithm(expected.digest);
  let range: FileDigestOptions["range"];
  if (options.start !== undefined) {
    if (expected.size === undefined) throw new RangeError("verifyFile: a range needs the size");
    range = { start: options.start, length: expected.size };
  } else if (expected.size !== undefined) {
    const { size } = await stat(path);
    if (size !== expected.size) throw new ContentMismatchError("size", String(expected.size), String(size));
  }
  const actual = await digestFileOffThread(path, { algorithm, ...(range ? { range } : {}) });
  if (expected.size !== undefined && actual.size !== expected.size) {
    throw new ContentMismatchError("size", String(expected.size), String(actual.size));
  }
  if (actual.digest !== expected.digest) throw new ContentMismatchError("digest", expected.digest, actual.digest);
}

/**
 * The worker's code: beside this file when run from source; in the
 * executable an entry point of its own (scripts/build.ts), under the
 * executable's root, which is where every bundled module's
 * import.meta.url points.
 */
const WORKER_URL = import.meta.url.startsWith("file:///$bunfs/")
  ? new URL("./digest/hash-worker.ts", import.meta.url).href
  : new URL("./hash-worker.ts", import.meta.url).href;

type Task = Omit<HashRequest, "id"> & { resolve(value: { hex: string; size: number }): void; reject(error: Error): void };

/** Workers that hash files; tasks wait in one queue for the first free one. */
class HashPool {
  readonly #max: number;
  readonly #idle: Worker[] = [];
  readonly #running = new Map<Worker, { id: number; task: Task }>();
  readonly #queue: Task[] = [];
  #ids = 0;

  constructor(max: number) {
    this.#max = max;
  }

  run(request: Omit<HashRequest, "id">): Promise<{ hex: string; size: number }> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...request, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    while (this.#queue.length > 0) {
      let worker = this.#idle.pop();
      if (!worker && this.#running.size < this.#max) worker = this.#start();
      if (!worker) return;
      const task = this.#queue.shift()!;
      const id = ++this.#ids;
      this.#running.set(worker, { id, task });
      // A worker with work keeps the process alive until it answers; an idle one does not.
      held(worker).ref();
      const { resolve: _resolve, reject: _reject, ...request } = task;
      worker.postMessage({ id, ...request } satisfies HashRequest);
    }
  }

  #start(): Worker {
    const worker = new Worker(WORKER_URL);
    worker.onmessage = (event: MessageEvent<HashReply>) => {
      const running = this.#running.get(worker);
      if (!running || running.id !== event.data.id) return;
      this.#running.delete(worker);
      held(worker).unref();
      this.#idle.push(worker);
      const reply = event.data;
      if ("error" in reply) running.task.reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
      else running.task.resolve({ hex: reply.hex, size: reply.size });
      this.#next();
    };
    worker.onerror = (event: ErrorEvent) => {
      // A worker that failed outside a request is replaced; its task fails.
      const running = this.#running.get(worker);
      this.#running.delete(worker);
      worker.terminate();
      running?.task.reject(new Error(`hashing ${running.task.path} failed: ${event.message}`));
      this.#next();
    };
    return worker;
  }
}

/** Bun's Worker can be let go of (the DOM type in scope does not say so). */
const held = (worker: Worker) => worker as Worker & { ref(): void; unref(): void };

let shared: HashPool | undefined;
function pool(): HashPool {
  return (shared ??= new HashPool(Math.max(1, Math.min(availableParallelism(), 4))));
}
