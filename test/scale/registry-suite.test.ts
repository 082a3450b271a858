/**
 * The registry's own suites (every test/unit/registry/*.test.ts), run again
 * over the store several `serve` processes share: PostgreSQL metadata and
 * blobs in Ceph RGW (test/helpers/test-store.ts). Each test gets a
 * database and a bucket of its own.
 */
import { beforeAll } from "bun:test";
import { Glob } from "bun";
import { join, resolve } from "node:path";
import { startCeph } from "../helpers/ceph-s3.ts";
import { startPostgres } from "../helpers/postgres.ts";

process.env.STEVEDORE_TEST_STORE = "postgres+s3";
// Started once for the whole run; the first may have to install Ceph's packages.
beforeAll(() => Promise.all([startPostgres(), startCeph()]), 600_000);

const dir = resolve(import.meta.dir, "../unit/registry");
for (const file of [...new Glob("*.test.ts").scanSync(dir)].sort()) await import(join(dir, file));
