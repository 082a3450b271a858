/** The metadata queries behind the admin API: repository summaries, tag details, usage, pull times. */
import { expect, test } from "bun:test";
import { Store } from "../../../src/store/index.ts";
import { PullRecorder } from "../../../src/store/pull-recorder.ts";
import { blob, configBlob, imageIndex, imageManifest, type TestBlob, type TestManifest, tempDir } from "./fixtures.ts";

async function put(store: Store, repository: string, blobs: TestBlob[], manifest: TestManifest, tag?: string) {
  for (const b of blobs) await store.putBlob(repository, { digest: b.digest, size: b.size }, new Blob([b.bytes]));
  await store.putManifest(repository, tag ?? manifest.digest, manifest);
}

/** Two repositories sharing one layer; one holds a two-platform index. */
async function fixture(root: string) {
  const store = await Store.open({ root });
  const shared = blob("shared base layer ".repeat(10)); // 180 bytes
  const onlyA = blob("only in a"); // 9
  const onlyB = blob("only in b, longer"); // 17
  const amd = configBlob("linux/amd64");
  const arm = configBlob("linux/arm64");
  const imageA = imageManifest(amd, [shared, onlyA]);
  const amdB = imageManifest(amd, [shared, onlyB]);
  const armB = imageManifest(arm, [shared, onlyB]);
  const index = imageIndex([
    { ...amdB, platform: { os: "linux", architecture: "amd64" } },
    { ...armB, platform: { os: "linux", architecture: "arm64" } },
  ]);
  await put(store, "acme/a", [amd, shared, onlyA], imageA, "1.0");
  await store.putManifest("acme/a", "latest", imageA);
  await put(store, "acme/b", [amd, arm, shared, onlyB], amdB);
  await put(store, "acme/b", [], armB);
  await put(store, "acme/b", [], index, "2.0");
  return { store, shared, onlyA, onlyB, amd, arm, imageA, amdB, armB, index };
}

test("repository summaries: tag and manifest counts, size of distinct blobs plus manifests, last push", async () => {
  await using dir = await tempDir();
  const before = Date.now();
  const f = await fixture(dir.path);
  try {
    const summaries = await f.store.metadata.repositorySummaries(undefined, 100);
    const sizeA = f.amd.size + f.shared.size + f.onlyA.size + f.imageA.size;
    const sizeB = f.amd.size + f.arm.size + f.shared.size + f.onlyB.size + f.amdB.size + f.armB.size + f.index.size;
    expect(summaries.map(({ lastPush: _, ...s }) => s)).toEqual([
      { name: "acme/a", tags: 2, manifests: 1, size: sizeA },
      { name: "acme/b", tags: 1, manifests: 3, size: sizeB },
    ]);
    for (const s of summaries) expect(s.lastPush).toBeGreaterThanOrEqual(before);
    expect((await f.store.metadata.repositorySummaries("acme/a", 100)).map((s) => s.name)).toEqual(["acme/b"]);
    expect((await f.store.metadata.repositorySummaries(undefined, 1)).map((s) => s.name)).toEqual(["acme/a"]);
  } finally {
    await f.store.close();
  }
});

test("tag details: an index's size counts each shared blob once; pulls are recorded and only move forward", async () => {
  await using dir = await tempDir();
  const f = await fixture(dir.path);
  try {
    const tags = await f.store.metadata.tagDetails("acme/b");
    expect(tags.map(({ pushed: _, ...t }) => t)).toEqual([
      {
        tag: "2.0",
        digest: f.index.digest,
        mediaType: f.index.mediaType,
        size: f.index.size + f.amdB.size + f.armB.size + f.amd.size + f.arm.size + f.shared.size + f.onlyB.size,
      },
    ]);
    const recorder = new PullRecorder(f.store.metadata, { intervalMs: 60_000 });
    recorder.record("acme/b", f.index.digest, 2000);
    recorder.record("acme/b", f.index.digest, 1000);
    await recorder.close();
    await f.store.metadata.recordPulls([{ repository: "acme/b", digest: f.index.digest, at: 1500 }]);
    expect((await f.store.metadata.tagDetails("acme/b"))[0]!.lastPulled).toBe(2000);
    // A deleted manifest takes its pull time along.
    await f.store.deleteManifest("acme/b", f.index.digest);
    await f.store.putManifest("acme/b", "2.0", f.index);
    expect((await f.store.metadata.tagDetails("acme/b"))[0]!.lastPulled).toBeUndefined();
  } finally {
    await f.store.close();
  }
});

test("usage: totals, shared and unique bytes per repository, unreferenced blobs", async () => {
  await using dir = await tempDir();
  const f = await fixture(dir.path);
  try {
    const orphan = blob("pushed but never referenced");
    await f.store.putBlob("acme/c", { digest: orphan.digest, size: orphan.size }, new Blob([orphan.bytes]));
    const usage = await f.store.metadata.usage();
    const all = [f.shared, f.onlyA, f.onlyB, f.amd, f.arm, orphan];
    const bytesA = f.amd.size + f.shared.size + f.onlyA.size;
    const bytesB = f.amd.size + f.arm.size + f.shared.size + f.onlyB.size;
    expect(usage).toEqual({
      blobs: { count: all.length, bytes: all.reduce((s, b) => s + b.size, 0) },
      manifests: { count: 4, bytes: f.imageA.size + f.amdB.size + f.armB.size + f.index.size },
      shared: { count: 2, bytes: f.amd.size + f.shared.size },
      unreferenced: { count: 1, bytes: orphan.size },
      logicalBytes: bytesA + bytesB,
      repositories: [
        { name: "acme/a", blobs: 3, bytes: bytesA, uniqueBytes: f.onlyA.size, sharedBytes: f.amd.size + f.shared.size },
        { name: "acme/b", blobs: 4, bytes: bytesB, uniqueBytes: f.arm.size + f.onlyB.size, sharedBytes: f.amd.size + f.shared.size },
      ],
    });
    expect(await f.store.metadata.uploadCount()).toBe(0);
    await f.store.startUpload("acme/c");
    expect(await f.store.metadata.uploadCount()).toBe(1);
  } finally {
    await f.store.close();
  }
});

test("an empty store answers every inventory query", async () => {
  await using dir = await tempDir();
  const store = await Store.open({ root: dir.path });
  try {
    expect(await store.metadata.repositorySummaries(undefined, 10)).toEqual([]);
    expect(await store.metadata.tagDetails("none")).toEqual([]);
    expect(await store.metadata.usage()).toEqual({
      blobs: { count: 0, bytes: 0 },
      manifests: { count: 0, bytes: 0 },
      shared: { count: 0, bytes: 0 },
      unreferenced: { count: 0, bytes: 0 },
      logicalBytes: 0,
      repositories: [],
    });
    expect(await store.metadata.ping()).toBe(true);
  } finally {
    await store.close();
  }
});
