/** The shared home contract, run against the store on PostgreSQL and Ceph RGW (as contract.test.ts runs it on files and SQLite). */
import { beforeAll } from "bun:test";
import { startCeph } from "../helpers/ceph-s3.ts";
import { runHomeContract } from "../helpers/home-contract.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { openSharedStore, sharedStoreLocation } from "../helpers/test-store.ts";

beforeAll(() => Promise.all([startPostgres(), startCeph()]), 600_000);

runHomeContract(
  "store on postgres+s3",
  async () => {
    const location = await sharedStoreLocation();
    let store = await openSharedStore(location);
    return {
      home: store,
      reopen: async () => {
        await store.close();
        store = await openSharedStore(location);
        return store;
      },
      cleanup: () => store.close(),
    };
  },
  { strictManifests: true, isolatedBlobs: true },
);
