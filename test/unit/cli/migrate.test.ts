/**
 * stevedore migrate between embedded stores with different layouts (a
 * root; metadata and blobs named apart). test/scale runs it into and out
 * of PostgreSQL and Ceph RGW.
 */
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { blobPath, resolveStoreLocation, Store } from "../../../src/store/index.ts";
import { fillStore, snapshot } from "../../helpers/store-snapshot.ts";
import { tempDir } from "../store/fixtures.ts";
import { stevedore } from "./run.ts";

test("a store copied into metadata and blobs named apart holds the same tags, manifests, blobs and times; again, nothing to copy", async () => {
  await using dir = await tempDir();
  const from = join(dir.path, "from");
  const source = await Store.open({ root: from });
  await fillStore(source);
  const before = await snapshot(source);
  await source.close();

  const args = ["migrate", "--from-root", from, "--to-metadata", `sqlite://${join(dir.path, "to", "meta.db")}`, "--to-blobs", join(dir.path, "to", "blobs")];
  const first = await stevedore(args);
  expect([first.code, first.stdout]).toEqual([0, expect.stringMatching(/^migrate: copied \d+ blobs \(.+\), \d+ manifests, 5 tags in 4 repositories in [\d.]+s\n$/)]);
  expect(first.stderr).toContain(`stevedore: copying the store of metadata sqlite ${from}/metadata.db, blobs filesystem ${from}`);

  const target = await Store.open(
    resolveStoreLocation({ metadata: `sqlite://${join(dir.path, "to", "meta.db")}`, blobs: join(dir.path, "to", "blobs") }).options,
  );
  try {
    expect(await snapshot(target)).toEqual(before);
  } finally {
    await target.close();
  }

  const again = await stevedore([...args, "--json"]);
  expect(again.code).toBe(0);
  const report = JSON.parse(again.stdout);
  expect([report.blobs.copied, report.manifests.copied, report.blobs.present + report.links > 0]).toEqual([0, 0, true]);
});

test("a blob whose bytes do not match its digest stops the copy with its digest named; nothing unverified lands", async () => {
  await using dir = await tempDir();
  const from = join(dir.path, "from");
  const source = await Store.open({ root: from });
  await fillStore(source, "broken");
  const [victim] = Object.keys((await snapshot(source)).blobs);
  await source.close();
  await writeFile(blobPath(from, victim as never), "not the bytes of that digest");
  const out = await stevedore(["migrate", "--from-root", from, "--to-root", join(dir.path, "to")]);
  expect([out.code, out.stderr.trim().split("\n").at(-1)]).toEqual([1, expect.stringMatching(new RegExp(`^stevedore: migrate: .*${victim!.slice(7, 19)}`))]);
  const target = await Store.open({ root: join(dir.path, "to") });
  try {
    expect((await snapshot(target)).blobs[victim!]).toBeUndefined();
  } finally {
    await target.close();
  }
});

test("usage: both sides named, not the same store, and a source that exists and is not empty", async () => {
  await using dir = await tempDir();
  const cases = [
    [["--to-root", dir.path], 2, "give --from-root DIR, or --from-metadata URL and --from-blobs LOCATION"],
    [["--from-root", dir.path], 2, "give --to-root DIR"],
    [["--from-root", dir.path, "--to-root", dir.path], 2, "share their metadata or their blobs"],
    [["--from-root", join(dir.path, "none"), "--to-root", join(dir.path, "t")], 1, "no store at"],
    [["--from-root", dir.path, "--to-root", join(dir.path, "t"), "--parallel", "0"], 2, "--parallel"],
  ] as const;
  for (const [args, code, message] of cases) {
    const out = await stevedore(["migrate", ...args]);
    expect([args, out.code, out.stderr.includes(message)]).toEqual([args, code, true]);
  }
  const empty = join(dir.path, "empty");
  await (await Store.open({ root: empty })).close();
  const out = await stevedore(["migrate", "--from-root", empty, "--to-root", join(dir.path, "t2")]);
  expect([out.code, out.stderr.includes("the source store is empty")]).toEqual([1, true]);
});
