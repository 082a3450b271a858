/** fsck on a real store: each kind of damage found, said, and repaired only where that is safe. */
import { describe, expect, test } from "bun:test";
import { rm, utimes, writeFile } from "node:fs/promises";
import { SQL } from "bun";
import { blobPath, databasePath, type FsckReport, runFsck, Store } from "../../../src/store/index.ts";
import { blob, configBlob, imageManifest, streamOf, tempDir } from "./fixtures.ts";

const HOUR = 3_600_000;

async function openStore(root: string) {
  const store = await Store.open({ root });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

/** One tagged image in "app", and one blob no manifest uses. */
async function setUp(store: Store) {
  const config = configBlob();
  const layer = blob("the layer");
  const stray = blob("a stray blob");
  for (const b of [config, layer, stray]) await store.putBlob("app", { digest: b.digest }, streamOf(b.bytes));
  const manifest = imageManifest(config, [layer]);
  await store.putManifest("app", "1", { bytes: manifest.bytes, mediaType: manifest.mediaType });
  return { config, layer, stray, manifest };
}

/** Raw SQL on the store's database, as damage from outside would be. */
async function damage(root: string, statement: string): Promise<void> {
  const sql = new SQL({ adapter: "sqlite", filename: databasePath(root) });
  await sql.unsafe(statement);
  await sql.close();
}

const kinds = (r: FsckReport) => r.problems.map((p) => `${p.kind}${p.repaired ? " (repaired)" : ""}`).sort();

describe("fsck", () => {
  test("a sound store has no problems; every blob is hashed", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { config, layer, stray } = await setUp(store);
    const report = await runFsck(store);
    expect(report.problems).toEqual([]);
    expect(report.checked).toEqual({ blobs: 3, bytes: config.size + layer.size + stray.size, manifests: 1, tags: 1, uploads: 0, files: 3 });
  });

  test("a corrupt blob a manifest uses is reported, never deleted, even with --repair", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { layer } = await setUp(store);
    await writeFile(blobPath(dir.path, layer.digest), "the layes"); // same size, other bytes
    for (const repair of [false, true]) {
      const report = await runFsck(store, { repair });
      expect(kinds(report)).toEqual(["blob-corrupt"]);
      expect(report.problems[0]!.message).toContain("used by app@sha256:");
      expect(report.problems[0]!.action).toContain("restore the blob file");
      expect(await store.driver.stat(layer.digest)).toBeDefined();
    }
  });

  test("missing or corrupt blobs nothing uses are forgotten by --repair", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { stray } = await setUp(store);
    const other = blob("another stray");
    await store.putBlob("app", { digest: other.digest }, streamOf(other.bytes));
    await rm(blobPath(dir.path, stray.digest));
    await writeFile(blobPath(dir.path, other.digest), "corrupted!!!!");
    expect(kinds(await runFsck(store))).toEqual(["blob-corrupt", "blob-missing"]);
    expect(kinds(await runFsck(store, { repair: true }))).toEqual(["blob-corrupt (repaired)", "blob-missing (repaired)"]);
    expect(await runFsck(store)).toMatchObject({ problems: [] });
    expect(await store.metadata.blobSize(other.digest)).toBeUndefined();
  });

  test("a blob a manifest uses that lost its row is recorded again; debris nothing uses is removed once old", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { layer, stray } = await setUp(store);
    await damage(dir.path, `DELETE FROM blobs WHERE digest IN ('${layer.digest}', '${stray.digest}')`);
    // Young files without rows may be pushes in flight: not problems.
    expect(kinds(await runFsck(store))).toEqual(["manifest-incomplete"]);
    const past = new Date(Date.now() - 2 * HOUR);
    for (const d of [layer.digest, stray.digest]) await utimes(blobPath(dir.path, d), past, past);
    expect(kinds(await runFsck(store))).toEqual(["blob-unrecorded", "blob-unrecorded", "manifest-incomplete"]);
    const repaired = await runFsck(store, { repair: true });
    expect(kinds(repaired)).toEqual(["blob-unrecorded (repaired)", "blob-unrecorded (repaired)", "manifest-incomplete (repaired)"]);
    expect(repaired.problems.map((p) => p.action).sort()).toEqual(["recorded again", "recorded again from the bytes on disk", "removed"]);
    expect(await runFsck(store)).toMatchObject({ problems: [] });
    expect(await store.statBlob("app", layer.digest)).toBe(layer.size);
    expect(await store.driver.stat(stray.digest)).toBeUndefined();
  });

  test("missing references and links are recorded; a dangling tag is removed", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { layer, manifest } = await setUp(store);
    await damage(dir.path, `DELETE FROM manifest_references WHERE digest = '${layer.digest}'`);
    await damage(dir.path, `DELETE FROM repository_blobs WHERE digest = '${layer.digest}'`);
    await damage(dir.path, `INSERT INTO tags (repository, name, digest, updated_at) VALUES ('app', 'ghost', 'sha256:${"0".repeat(64)}', 0)`);
    const found = await runFsck(store);
    expect(kinds(found)).toEqual(["link-missing", "references-missing", "tag-dangling"]);
    expect(found.problems.find((p) => p.kind === "tag-dangling")!.subject).toBe("app:ghost");
    expect(kinds(await runFsck(store, { repair: true }))).toEqual(["link-missing (repaired)", "references-missing (repaired)", "tag-dangling (repaired)"]);
    expect(await runFsck(store)).toMatchObject({ problems: [] });
    expect(await store.tags("app")).toEqual(["1"]);
    expect((await store.metadata.maintenance.referencesFrom("app", manifest.digest)).length).toBe(2);
  });

  test("a manifest whose blob is gone entirely says to push the image again", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { layer } = await setUp(store);
    await damage(dir.path, `DELETE FROM blobs WHERE digest = '${layer.digest}'`);
    await rm(blobPath(dir.path, layer.digest));
    const report = await runFsck(store, { repair: true });
    expect(kinds(report)).toEqual(["manifest-incomplete"]);
    expect(report.problems[0]!.action).toBe("push the image again (sync its bundle again)");
  });

  test("corrupt manifest bytes are reported", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await setUp(store);
    await damage(dir.path, `UPDATE manifests SET content = X'7b7d'`);
    const report = await runFsck(store, { repair: true });
    expect(kinds(report)).toEqual(["manifest-corrupt"]);
    expect(report.problems[0]!.message).toContain("do not hash to its digest");
  });

  test("abandoned uploads and orphaned staged bytes are swept by --repair", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await setUp(store);
    const idle = await store.startUpload("app");
    await store.appendUpload("app", idle.id, streamOf("partial"));
    const orphan = crypto.randomUUID();
    await store.driver.createStaged(orphan);
    const later = Date.now() + 2 * 86_400_000;
    const found = await runFsck(store, { now: later });
    expect(kinds(found)).toEqual(["upload-abandoned", "upload-abandoned"]);
    expect(kinds(await runFsck(store, { now: later, repair: true }))).toEqual(["upload-abandoned (repaired)", "upload-abandoned (repaired)"]);
    expect(await runFsck(store, { now: later })).toMatchObject({ problems: [] });
    expect(await store.driver.stagedSize(idle.id)).toBeUndefined();
  });

  test("progress reports bytes hashed", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { config, layer, stray } = await setUp(store);
    let bytes = 0;
    await runFsck(store, { onProgress: (e) => (bytes = Math.max(bytes, e.bytes)) });
    expect(bytes).toBe(config.size + layer.size + stray.size);
  });
});
