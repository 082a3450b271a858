/**
 * Store suites that run on any store (test/helpers/test-store.ts), again on
 * PostgreSQL and Ceph RGW: crashes between placing a blob and recording it.
 */
import { beforeAll } from "bun:test";
import { startCeph } from "../helpers/ceph-s3.ts";
import { startPostgres } from "../helpers/postgres.ts";

process.env.STEVEDORE_TEST_STORE = "postgres+s3";
beforeAll(() => Promise.all([startPostgres(), startCeph()]), 600_000);

await import("../unit/store/crash-windows.test.ts");
