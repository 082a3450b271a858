/**
 * PostgreSQL: the pool gives each transaction a connection of its own, so
 * requests beside an open transaction are answered at once (no gate), and
 * still keep their writes and read only what was committed when it rolls
 * back. test/unit/store/beside-rollback.test.ts runs the same on SQLite.
 */
import { beforeAll, expect, test } from "bun:test";
import { Store } from "../../src/store/index.ts";
import { postgresDatabase, startPostgres } from "../helpers/postgres.ts";
import { besideRollback, expectedBesideRollback } from "../unit/store/beside-rollback.ts";
import { tempDir } from "../unit/store/fixtures.ts";

beforeAll(() => startPostgres(), 120_000);

test("writes beside a transaction that rolls back are kept, and reads see only what was committed", async () => {
  await using dir = await tempDir();
  const store = await Store.open({ root: dir.path, databaseUrl: await postgresDatabase() });
  try {
    const { answeredWhileOpen, ...outcome } = await besideRollback(store, { besideCompletes: true });
    expect(outcome).toEqual(expectedBesideRollback());
    expect(answeredWhileOpen).toEqual(["deleteBlob", "deleteTag", "startUpload", "statBlob"]);
  } finally {
    await store.close();
  }
});
