/**
 * The layout's index lock after a crash: a lock whose owner is dead, or
 * one its creator never wrote into (kill -9 between create and write),
 * does not hold up the next writer; a live owner's lock does.
 */
import { expect, test } from "bun:test";
import { utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { withLockFile } from "../../../src/transports/fs/lock-file.ts";
import { tempDir } from "../store/fixtures.ts";

async function timeToLock(path: string, timeoutMs = 5_000): Promise<number> {
  const started = performance.now();
  await withLockFile(path, async () => undefined, { timeoutMs });
  return performance.now() - started;
}

test("a lock left empty by a crash is broken within seconds, not after the stale window", async () => {
  await using dir = await tempDir();
  const lock = join(dir.path, "index.json.lock");
  await writeFile(lock, "");
  expect(await timeToLock(lock)).toBeLessThan(4_000);
  // An empty lock older than a moment (the creator died long ago) goes at once.
  await writeFile(lock, "");
  const past = new Date(Date.now() - 10_000);
  await utimes(lock, past, past);
  expect(await timeToLock(lock)).toBeLessThan(500);
});

test("a lock of a dead process is broken at once; a live owner's is waited for", async () => {
  await using dir = await tempDir();
  const lock = join(dir.path, "index.json.lock");
  const dead = Bun.spawn(["true"]);
  await dead.exited;
  await writeFile(lock, JSON.stringify({ pid: dead.pid, host: hostname(), time: Date.now() }));
  expect(await timeToLock(lock)).toBeLessThan(500);
  await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() }));
  await expect(withLockFile(lock, async () => undefined, { timeoutMs: 300 })).rejects.toThrow(/Timed out waiting for the lock/);
});
