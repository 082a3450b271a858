/**
 * The store the shared suites (registry, home contract) run against:
 *
 * - the embedded default (files and SQLite under a temp dir), or
 * - with STEVEDORE_TEST_STORE=postgres+s3, PostgreSQL (a database per
 *   store, test/helpers/postgres.ts) and Ceph RGW (a bucket per store,
 *   test/helpers/ceph-s3.ts), the configuration of several `serve`
 *   processes sharing one store. test/scale runs the suites this way.
 *
 *   const store = await openTestStore(dir);   // same dir again: same database and bucket
 */
import { Store } from "../../src/store/index.ts";
import { SqlMultipartLedger } from "../../src/store/multipart-ledger.ts";
import { MIN_PART_SIZE, S3Driver } from "../../src/store/s3-driver.ts";
import { cephBucket, type TestBucket } from "./ceph-s3.ts";
import { postgresDatabase } from "./postgres.ts";

export type TestStoreKind = "embedded" | "postgres+s3";

export function testStoreKind(): TestStoreKind {
  const kind = process.env.STEVEDORE_TEST_STORE ?? "embedded";
  if (kind !== "embedded" && kind !== "postgres+s3") throw new Error(`STEVEDORE_TEST_STORE must be embedded or postgres+s3, not ${kind}`);
  return kind;
}

export interface SharedStoreLocation {
  databaseUrl: string;
  bucket: TestBucket;
}

const shared = new Map<string, Promise<SharedStoreLocation>>();

/** A new database and bucket (test/scale uses them for `serve` processes too). */
export async function sharedStoreLocation(): Promise<SharedStoreLocation> {
  const [databaseUrl, bucket] = await Promise.all([postgresDatabase(), cephBucket()]);
  return { databaseUrl, bucket };
}

/** Open a store over PostgreSQL and S3; parts of 5 MiB, so tests reach multipart uploads with small blobs. */
export async function openSharedStore(location: SharedStoreLocation, options: { partSize?: number } = {}): Promise<Store> {
  return Store.open({
    databaseUrl: location.databaseUrl,
    driver: (metadata) =>
      new S3Driver(location.bucket.client, new SqlMultipartLedger(metadata.database), { partSize: options.partSize ?? MIN_PART_SIZE }),
  });
}

export async function openTestStore(root: string): Promise<Store> {
  if (testStoreKind() === "embedded") return Store.open({ root });
  let location = shared.get(root);
  if (!location) {
    location = sharedStoreLocation();
    shared.set(root, location);
  }
  return openSharedStore(await location);
}
