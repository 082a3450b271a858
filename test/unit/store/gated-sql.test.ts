import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import { gateSql } from "../../../src/store/gated-sql.ts";
import { tempDir } from "./fixtures.ts";

/** A promise and its resolver. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A gated handle on a fresh database; `await using` closes it (SQL is AsyncDisposable). */
async function openGated(dir: string): Promise<SQL> {
  const sql = gateSql(new SQL({ adapter: "sqlite", filename: join(dir, "t.db") }));
  await sql`CREATE TABLE t (v TEXT)`;
  return sql;
}

const values = async (sql: SQL) => ((await sql`SELECT v FROM t ORDER BY v`) as { v: string }[]).map((r) => r.v);

describe("gateSql (SQLite)", () => {
  test("a statement sent while a transaction is open waits for its end: not rolled back with it, nothing uncommitted read", async () => {
    await using dir = await tempDir();
    await using sql = await openGated(dir.path);
    await sql`INSERT INTO t VALUES ('committed')`;
    const inside = latch();
    const rollback = latch();
    const tx = sql
      .begin(async (tx) => {
        await tx`INSERT INTO t VALUES ('in-tx')`;
        inside.open();
        await rollback.promise;
        throw new Error("rollback");
      })
      .catch((error: Error) => error.message);
    await inside.promise;
    const read = values(sql);
    const write = sql`INSERT INTO t VALUES ('outside')`;
    rollback.open();
    expect(await tx).toBe("rollback");
    await write;
    expect(await read).toEqual(["committed"]);
    expect(await values(sql)).toEqual(["committed", "outside"]);
  });

  test("helpers (an IN list, an insert object) pass through: the statement using them is the one gated", async () => {
    await using dir = await tempDir();
    await using sql = await openGated(dir.path);
    await sql`INSERT INTO t ${sql([{ v: "a" }, { v: "b" }, { v: "c" }])}`;
    expect((await sql`SELECT v FROM t WHERE v IN ${sql(["a", "c"])} ORDER BY v`).map((r: { v: string }) => r.v)).toEqual(["a", "c"]);
    await sql.begin(async (tx) => {
      await tx`DELETE FROM t WHERE v IN ${sql(["a"])}`;
    });
    expect(await values(sql)).toEqual(["b", "c"]);
  });

  test("the handle used inside its own transaction is an error (the transaction rolls back), not a wait forever", async () => {
    await using dir = await tempDir();
    await using sql = await openGated(dir.path);
    const misuse = async (use: () => Promise<unknown>) =>
      sql
        .begin(async (tx) => {
          await tx`INSERT INTO t VALUES ('in-tx')`;
          await use();
        })
        .then(
          () => "committed",
          (error: Error) => error.message,
        );
    const refused = "SQL through the store's database handle inside one of its own transactions would wait forever: use the transaction's handle";
    expect(await misuse(() => sql`SELECT 1 AS x`)).toBe(refused);
    expect(await misuse(() => sql.unsafe("SELECT 1 AS x"))).toBe(refused);
    expect(await misuse(() => sql.begin(async (tx) => tx`SELECT 1 AS x`))).toBe(refused);
    expect(await values(sql)).toEqual([]);
  });

  test("work a transaction leaves running past its end may use the handle", async () => {
    await using dir = await tempDir();
    await using sql = await openGated(dir.path);
    const ended = latch();
    let later!: Promise<unknown>;
    await sql.begin(async (tx) => {
      await tx`INSERT INTO t VALUES ('in-tx')`;
      later = ended.promise.then(() => sql`INSERT INTO t VALUES ('later')`);
    });
    ended.open();
    await later;
    expect(await values(sql)).toEqual(["in-tx", "later"]);
  });

  test("unsafe statements and transactions by either name are gated; what would bypass the gate is refused", async () => {
    await using dir = await tempDir();
    await using sql = await openGated(dir.path);
    const inside = latch();
    const commit = latch();
    const tx = sql.transaction(async (tx) => {
      await tx`INSERT INTO t VALUES ('in-tx')`;
      inside.open();
      await commit.promise;
    });
    await inside.promise;
    const read = sql.unsafe("SELECT v FROM t");
    commit.open();
    await tx;
    expect(await read).toEqual([{ v: "in-tx" }]);
    expect(() => sql.reserve()).toThrow("sql.reserve is not available on the store's SQLite handle");
    expect((sql.options as { adapter?: string }).adapter).toBe("sqlite");
  });
});
