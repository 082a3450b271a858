/**
 * A new SQLite database is built aside and linked into place whole:
 * migrated, in WAL mode, nothing left beside it; an existing one is left
 * alone; creators racing all end on one database; temporaries of dead
 * creators are removed, a live creator's are not.
 */
import { expect, test } from "bun:test";
import { SQL } from "bun";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Metadata } from "../../../src/store/metadata.ts";
import { DIALECTS, MIGRATIONS, migrate } from "../../../src/store/migrations.ts";
import { createSqliteFile } from "../../../src/store/sqlite-file.ts";
import { tempDir } from "./fixtures.ts";

async function inspect(file: string): Promise<{ journal: string; versions: number[] }> {
  const sql = new SQL({ adapter: "sqlite", filename: file });
  try {
    const [mode] = await sql`PRAGMA journal_mode`;
    const rows: { version: number }[] = await sql`SELECT version FROM schema_migrations ORDER BY version`;
    return { journal: (mode as { journal_mode: string }).journal_mode, versions: rows.map((r) => Number(r.version)) };
  } finally {
    await sql.close();
  }
}

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

test("a new database: migrated, WAL, and nothing else in the directory", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "metadata.db");
  await createSqliteFile(file);
  expect(await readdir(dir.path)).toEqual(["metadata.db"]);
  expect(await inspect(file)).toEqual({ journal: "wal", versions: ALL_VERSIONS });
});

test("the schema is the one migrating an empty database in place gives", async () => {
  await using dir = await tempDir();
  const created = join(dir.path, "created.db");
  await createSqliteFile(created);
  const migrated = join(dir.path, "migrated.db");
  const sql = new SQL({ adapter: "sqlite", filename: migrated });
  await migrate(sql, DIALECTS.sqlite);
  await sql.close();
  const schema = async (file: string) => {
    const db = new SQL({ adapter: "sqlite", filename: file });
    try {
      return [...(await db`SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name`)];
    } finally {
      await db.close();
    }
  };
  const expected = await schema(migrated);
  expect(expected.length).toBeGreaterThan(10);
  expect(await schema(created)).toEqual(expected);
});

test("an existing file is left as it is", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "metadata.db");
  await createSqliteFile(file);
  const metadata = await Metadata.open({ sqliteFile: file });
  await metadata.database`INSERT INTO repositories (name, created_at) VALUES ('kept', 1)`;
  await metadata.close();
  await createSqliteFile(file);
  const sql = new SQL({ adapter: "sqlite", filename: file });
  expect(await sql`SELECT name FROM repositories`).toEqual([{ name: "kept" }]);
  await sql.close();
});

test("creators racing (in this process and in others) all open one database", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "metadata.db");
  const script = `const { Metadata } = await import(${JSON.stringify(join(import.meta.dir, "../../../src/store/metadata.ts"))});
    const m = await Metadata.open({ sqliteFile: process.argv.at(-1) });
    await m.database\`INSERT INTO repositories (name, created_at) VALUES (\${"p" + process.pid}, 1)\`;
    await m.close();`;
  const children = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, "-e", script, file], { stdout: "pipe", stderr: "pipe" }));
  try {
    const local = await Promise.all(Array.from({ length: 4 }, () => Metadata.open({ sqliteFile: file })));
    for (const [i, m] of local.entries()) await m.database`INSERT INTO repositories (name, created_at) VALUES (${`local${i}`}, 1)`;
    await Promise.all(local.map((m) => m.close()));
    const outcomes = await Promise.all(children.map(async (c) => [await c.exited, await new Response(c.stderr).text()]));
    expect(outcomes).toEqual(children.map(() => [0, ""]));
  } finally {
    for (const c of children) c.kill();
  }
  const sql = new SQL({ adapter: "sqlite", filename: file });
  const [count] = await sql`SELECT count(*) AS n FROM repositories`;
  await sql.close();
  expect(Number((count as { n: number }).n)).toBe(8);
  expect((await readdir(dir.path)).filter((name) => name.includes(".creating-"))).toEqual([]);
});

test("temporaries of dead creators are removed; a live creator's are kept", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "metadata.db");
  const dead = Bun.spawn(["true"]);
  await dead.exited;
  const live = Bun.spawn(["sleep", "30"]);
  try {
    const leftovers = [`metadata.db.creating-${dead.pid}-0a1b2c3d`, `metadata.db.creating-${dead.pid}-0a1b2c3d-wal`, `metadata.db.creating-${live.pid}-4e5f6071`];
    for (const name of leftovers) await writeFile(join(dir.path, name), "half-written");
    await createSqliteFile(file);
    expect((await readdir(dir.path)).sort()).toEqual(["metadata.db", `metadata.db.creating-${live.pid}-4e5f6071`]);
    expect(await inspect(file)).toEqual({ journal: "wal", versions: ALL_VERSIONS });
  } finally {
    live.kill();
  }
});
