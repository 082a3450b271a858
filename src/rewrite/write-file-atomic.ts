/**
 * Replace a file's content atomically: a temporary file beside it, the
 * original mode (and owner, where allowed), fsync, rename over the
 * original, fsync of the directory. A reader sees the old bytes or the new
 * ones, never a mix; a crash leaves at most a stray temporary file.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, open, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // Through a symlink, replace the file it points at, not the link.
  const target = await realpath(path);
  const info = await stat(target);
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(temp, "wx", info.mode & 0o7777);
  try {
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await chmod(temp, info.mode & 0o7777);
    await chown(temp, info.uid, info.gid).catch(() => undefined); // only root may give files away
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dir = await open(dirname(target), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
