/**
 * stevedore migrate from a store directory into PostgreSQL and Ceph RGW,
 * served from there, and back into a directory: the same tags, manifests,
 * blob bytes and times at every step.
 */
import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { resolveStoreLocation, Store } from "../../src/store/index.ts";
import { startCeph } from "../helpers/ceph-s3.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { PushClient } from "../helpers/push-client.ts";
import { startServe } from "../helpers/stevedore-serve.ts";
import { fillStore, repositoryOf, snapshot } from "../helpers/store-snapshot.ts";
import { sharedStoreLocation } from "../helpers/test-store.ts";
import { tempDir } from "../unit/store/fixtures.ts";
import { stevedore } from "../unit/cli/run.ts";

beforeAll(() => Promise.all([startPostgres(), startCeph()]), 600_000);

test("files and SQLite → PostgreSQL and S3 → files and SQLite, verified; the shared store serves what was copied", async () => {
  await using dir = await tempDir();
  const shared = await sharedStoreLocation();
  const env = { ...(process.env as Record<string, string>), ...shared.bucket.env };
  const from = join(dir.path, "from");
  const source = await Store.open({ root: from });
  const release = await fillStore(source, "migrate-scale");
  const before = await snapshot(source);
  await source.close();

  const there = ["--to-metadata", shared.databaseUrl, "--to-blobs", `${shared.bucket.url}/site`, "--s3-part-size", "5MiB"];
  const out = await stevedore(["migrate", "--from-root", from, ...there], undefined, env);
  expect([out.code, out.stdout]).toEqual([0, expect.stringMatching(/^migrate: copied \d+ blobs/)]);
  expect(out.stderr).toContain(`blobs s3://${shared.bucket.bucket}/site at ${shared.bucket.endpoint}`);
  const inShared = await Store.open(
    resolveStoreLocation({ metadata: shared.databaseUrl, blobs: `${shared.bucket.url}/site`, s3: { env } }).options,
  );
  try {
    expect(await snapshot(inShared)).toEqual(before);
  } finally {
    await inShared.close();
  }

  await using serve = await startServe({ args: ["--metadata", shared.databaseUrl, "--blobs", `${shared.bucket.url}/site`], env: shared.bucket.env });
  for (const image of release.filter((m) => m.name)) {
    await new PushClient(serve.url).pullImage(repositoryOf(image), image.name!.split(":").at(-1)!, image.descriptor.digest);
  }

  const back = join(dir.path, "back");
  const home = await stevedore(
    ["migrate", "--from-metadata", shared.databaseUrl, "--from-blobs", `${shared.bucket.url}/site`, "--to-root", back, "--parallel", "8"],
    undefined,
    env,
  );
  expect([home.code, home.stderr.split("\n").filter((l) => !l.startsWith("stevedore: ") && l !== "")]).toEqual([0, []]);
  const returned = await Store.open({ root: back });
  try {
    expect(await snapshot(returned)).toEqual(before);
  } finally {
    await returned.close();
  }
}, 180_000);
