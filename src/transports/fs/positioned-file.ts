/**
 * Writing a body natively into the middle of a file (a blob into its
 * place in a tar). Given a file descriptor, Bun.write writes at the
 * descriptor's position, without truncating, and takes a file body or a
 * transport's stream without passing chunks through JavaScript; so it
 * needs a descriptor positioned at the offset. Node's fs has no lseek:
 * libc's is called through bun:ffi. Where libc cannot be loaded the
 * functions here answer undefined, and callers write the bytes
 * themselves.
 */
import { closeSync, openSync } from "node:fs";

const SEEK_SET = 0;
const SEEK_CUR = 1;

type Seek = (fd: number, offset: number, whence: number) => number | bigint;
let seek: Seek | null | undefined;

async function lseek(): Promise<Seek | null> {
  if (seek === undefined) {
    try {
      const { dlopen, FFIType } = await import("bun:ffi");
      const libc = dlopen("libc.so.6", { lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 } });
      seek = libc.symbols.lseek as Seek;
    } catch {
      seek = null;
    }
  }
  return seek;
}

/**
 * A descriptor of `path` (opened for writing, not truncated) positioned
 * at `offset`; close it with closeSync. Undefined when files cannot be
 * positioned here.
 */
export async function openAt(path: string, offset: number): Promise<number | undefined> {
  const move = await lseek();
  if (!move) return undefined;
  const fd = openSync(path, "r+");
  if (Number(move(fd, offset, SEEK_SET)) !== offset) {
    closeSync(fd);
    throw new Error(`Cannot position ${path} at byte ${offset}`);
  }
  return fd;
}

/** Where a descriptor openAt gave is now (its offset plus what was written through it). */
export function positionOf(fd: number): number {
  return seek ? Number(seek(fd, 0, SEEK_CUR)) : 0;
}
