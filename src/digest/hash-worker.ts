/**
 * The thread behind file-digest.ts. It hashes a file, or a range of one,
 * a piece at a time through one buffer: memory stays flat whatever the
 * size.
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { HashReply, HashRequest } from "./file-digest.ts";

/** Large pieces: few system calls, and the hash runs over memory still in cache. */
const piece = new Uint8Array(4 * 1024 * 1024);

self.onmessage = (event: MessageEvent<HashRequest>) => {
  const request = event.data;
  let reply: HashReply;
  try {
    reply = { id: request.id, ...hashFile(request) };
  } catch (error) {
    const { message, code } = error as NodeJS.ErrnoException;
    reply = { id: request.id, error: { message: String(message), ...(code ? { code } : {}) } };
  }
  self.postMessage(reply);
};

function hashFile({ path, algorithm, range }: HashRequest): { hex: string; size: number } {
  const hasher = new Bun.CryptoHasher(algorithm);
  const fd = openSync(path, "r");
  const start = range?.start ?? 0;
  const end = range ? range.start + range.length : Number.POSITIVE_INFINITY;
  let size = 0;
  try {
    for (let read: number; start + size < end; size += read) {
      read = readSync(fd, piece, 0, Math.min(piece.byteLength, end - start - size), start + size);
      if (read === 0) break;
      hasher.update(piece.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return { hex: hasher.digest("hex"), size };
}
