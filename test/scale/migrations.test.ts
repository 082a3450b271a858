/**
 * Several processes opening one new PostgreSQL store at once (a rolling
 * start of serve on every node): migrations run once, one process at a
 * time, and every process starts.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { SQL } from "bun";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { postgresDatabase } from "../helpers/postgres.ts";

const METADATA = resolve(import.meta.dir, "../../src/store/metadata.ts");

test("six processes migrate one new database at the same moment", async () => {
  const url = await postgresDatabase();
  const script = `const { Metadata } = await import(${JSON.stringify(METADATA)});
const m = await Metadata.open({ url: process.argv.at(-1) });
await m.close();
console.log("open");`;
  const children = Array.from({ length: 6 }, () =>
    Bun.spawn([process.execPath, "-e", script, url], { stdout: "pipe", stderr: "pipe" }),
  );
  const outcomes = await Promise.all(
    children.map(async (child) => [await child.exited, (await new Response(child.stdout).text()).trim(), await new Response(child.stderr).text()]),
  );
  expect(outcomes).toEqual(children.map(() => [0, "open", ""]));
  const sql = new SQL(url);
  try {
    const rows: { version: number }[] = await sql`SELECT version FROM schema_migrations ORDER BY version`;
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  } finally {
    await sql.close();
  }
}, 120_000);
