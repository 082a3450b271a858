/**
 * A new SQLite metadata database, created whole: built beside its final
 * name without waiting for the disk at each step, flushed once, then
 * hard-linked into place.
 *
 * Created in place, a database costs about eight fsyncs before the first
 * request (the switch to WAL through a rollback journal, the first WAL
 * commit, the directory), tens of milliseconds of a fresh store's start
 * on a busy disk; this way it costs two. It also means that a database
 * file that exists is a migrated one: a crash leaves no database or a
 * whole one, and at worst a temporary that the next creator removes.
 */
import { randomUUID } from "node:crypto";
import { link, open, readdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fsyncDir, isNotFound } from "./durable.ts";
import { DIALECTS, MIGRATIONS, SCHEMA_MIGRATIONS_TABLE } from "./migrations.ts";

/** `metadata.db.creating-<pid>-<random>`: a database being built, by that process. */
const CREATING = ".creating-";

/** SQLite's companions of a database file. */
const COMPANIONS = ["", "-journal", "-wal", "-shm"];

/**
 * Create the migrated database `file` unless it exists. Several processes
 * may race here: the first link wins and the others use its database.
 */
export async function createSqliteFile(file: string): Promise<void> {
  if (await exists(file)) return;
  const dir = dirname(file);
  await removeAbandoned(dir, basename(file));
  const temp = `${file}${CREATING}${process.pid}-${randomUUID().slice(0, 8)}`;
  try {
    // Bun.SQL, not an import of it: see metadata.ts.
    const sql = new Bun.SQL({ adapter: "sqlite", filename: temp });
    try {
      // Nothing here has to survive a crash before the link below: one flush at the end does.
      await sql`PRAGMA synchronous = OFF`;
      await sql`PRAGMA journal_mode = WAL`;
      // Every migration in one script, one statement call: a new file has none applied.
      await sql.unsafe(creationScript(Date.now()));
    } finally {
      // Closing checkpoints the WAL into the file and removes it.
      await sql.close();
    }
    const handle = await open(temp, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EEXIST: another process created it first; its database is as good. Without hard links
      // (EPERM, ENOTSUP, ...): the caller creates the database in place, as it always could.
      if (code !== "EEXIST" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EMLINK") throw error;
      return;
    }
    // One flush of the directory for both: the new name in, the temporary's out.
    await removeWithCompanions(temp);
    await fsyncDir(dir);
  } finally {
    await removeWithCompanions(temp);
  }
}

/** What migrate() runs on an empty database, as one script (numbers only are interpolated). */
function creationScript(now: number): string {
  const statements = [
    "BEGIN IMMEDIATE",
    SCHEMA_MIGRATIONS_TABLE,
    ...MIGRATIONS.flatMap((m) => [...m.statements(DIALECTS.sqlite), `INSERT INTO schema_migrations (version, applied_at) VALUES (${m.version}, ${now})`]),
    "COMMIT",
  ];
  return `${statements.join(";\n")};`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function removeWithCompanions(file: string): Promise<void> {
  await Promise.all(COMPANIONS.map((suffix) => rm(`${file}${suffix}`, { force: true })));
}

/** Temporaries of creators that died before they finished. */
async function removeAbandoned(dir: string, name: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const prefix = `${name}${CREATING}`;
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(/^\d+/.exec(entry.slice(prefix.length))?.[0]);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !isAlive(pid)) await rm(join(dir, entry), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
