/**
 * SQLite: requests answered beside a transaction that rolls back keep what
 * they wrote and read only what was committed (they wait for its end).
 * test/scale/beside-rollback.test.ts runs the same on PostgreSQL.
 */
import { expect, test } from "bun:test";
import { Store } from "../../../src/store/index.ts";
import { besideRollback, expectedBesideRollback } from "./beside-rollback.ts";
import { tempDir } from "./fixtures.ts";

test("writes beside a transaction that rolls back are kept, and reads see only what was committed", async () => {
  await using dir = await tempDir();
  const store = await Store.open({ root: dir.path });
  try {
    const { answeredWhileOpen, ...outcome } = await besideRollback(store, { besideCompletes: false });
    expect(outcome).toEqual(expectedBesideRollback());
    // One connection: whatever runs while a transaction is open runs inside it, so they waited.
    expect(answeredWhileOpen).toEqual([]);
  } finally {
    await store.close();
  }
});
