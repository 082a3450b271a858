/**
 * A lock file for read-modify-write of a shared file (an OCI layout's
 * index.json) by several processes. Taken with O_EXCL; it holds the owner's
 * pid and host so a lock left by a dead process on this host can be broken,
 * and a lock older than `staleMs` is broken whatever its owner (an index
 * update takes milliseconds; a lock that old is a crash, not a writer). A
 * lock its creator died before writing into (killed between the create
 * and the write) is broken after a moment, not after `staleMs`.
 */
import { hostname } from "node:os";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { TransportError } from "../errors.ts";

export interface LockOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Break a lock older than this. Default 60 s. */
  staleMs?: number;
}

export async function withLockFile<T>(path: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  await acquire(path, options);
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => {});
  }
}

async function acquire(path: string, { timeoutMs = 30_000, staleMs = 60_000 }: LockOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const owner = JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() });
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(owner);
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (await isStale(path, staleMs)) {
      // Move it aside under a unique name first: of several processes that
      // found the same stale lock, only one rename succeeds.
      const aside = `${path}.stale-${process.pid}-${attempt}`;
      if (await rename(path, aside).then(() => true, () => false)) await unlink(aside).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new TransportError("unsupported", `Timed out waiting for the lock ${path}; remove it if no other process is writing`);
    }
    // Another writer holds it for a few milliseconds: back off a little, with jitter.
    await Bun.sleep(Math.min(100, 2 + attempt * 5) * (0.5 + Math.random()));
  }
}

/**
 * A lock without a readable owner older than this was created by a
 * process that died before writing into it (a writer fills it at once).
 */
const UNWRITTEN_STALE_MS = 2_000;

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, "utf8")]);
    const age = Date.now() - info.mtimeMs;
    if (age > staleMs) return true;
    let owner: { pid?: number; host?: string };
    try {
      owner = JSON.parse(text) as { pid?: number; host?: string };
    } catch {
      return age > UNWRITTEN_STALE_MS;
    }
    if (owner.host !== hostname() || typeof owner.pid !== "number") return false;
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH";
    }
  } catch {
    // Gone (released meanwhile) or half-written by a writer just now: retry.
    return false;
  }
}
