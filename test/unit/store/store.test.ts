import { describe, expect, test } from "bun:test";
import { readdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../../../src/digest/index.ts";
import { MediaType, OciError } from "../../../src/oci/index.ts";
import { Store } from "../../../src/store/index.ts";
import { blob, configBlob, failingStream, imageIndex, imageManifest, streamOf, tempDir, text } from "./fixtures.ts";

async function openStore(root: string) {
  const store = await Store.open({ root });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OciError) return error.code;
    throw error;
  }
  return "resolved";
}

/** Every file under the store's blobs/ and uploads/ directories. */
async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ["blobs", "uploads"]) {
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) out.push(join(entry.parentPath, entry.name).slice(root.length + 1));
    }
  }
  return out.sort();
}

describe("blobs", () => {
  test("a blob put into one repository is readable there, by range too, and nowhere else", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("hello, layer");
    await store.putBlob("app/web", { digest: b.digest, size: b.size }, streamOf("hello, ", "layer"));
    expect(await store.statBlob("app/web", b.digest)).toBe(b.size);
    expect(await store.statBlob("other", b.digest)).toBeUndefined();
    const content = await store.blob("app/web", b.digest);
    expect(await text(content.stream())).toBe("hello, layer");
    expect(await text(content.stream({ start: 7, end: 12 }))).toBe("layer");
    expect(await content.blob!({ start: 0, end: 5 }).text()).toBe("hello");
    expect(await code(store.blob("other", b.digest))).toBe("BLOB_UNKNOWN");
    expect(await filesUnder(dir.path)).toEqual([`blobs/sha256/${b.digest.slice(7, 9)}/${b.digest.slice(7)}`]);
  });

  test("wrong digest, wrong size and a dropped body leave nothing behind", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("the real bytes");
    expect(await code(store.putBlob("r", { digest: b.digest }, streamOf("other bytes")))).toBe("DIGEST_INVALID");
    expect(await code(store.putBlob("r", { digest: b.digest, size: 3 }, streamOf("the real bytes")))).toBe("SIZE_INVALID");
    await expect(store.putBlob("r", { digest: b.digest }, failingStream("the real"))).rejects.toThrow("connection reset");
    expect(await code(store.putBlob("r", { digest: "sha999:0123456789abcdef0123456789abcdef" as Digest }, streamOf("x")))).toBe(
      "DIGEST_INVALID",
    );
    expect(await store.statBlob("r", b.digest)).toBeUndefined();
    expect(await filesUnder(dir.path)).toEqual([]);
  });

  test("parallel pushes of the same blob into several repositories all succeed, one copy on disk", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
    const b = blob(bytes);
    const pushes = [];
    for (let i = 0; i < 12; i++) {
      const repo = `repo${i % 4}`;
      if (i % 2 === 0) {
        pushes.push(store.putBlob(repo, { digest: b.digest, size: b.size }, new Blob([bytes])));
      } else {
        pushes.push(
          (async () => {
            const { id } = await store.startUpload(repo);
            await store.appendUpload(repo, id, streamOf(bytes.subarray(0, 1000)), { start: 0, length: 1000 });
            await store.finishUpload(repo, id, b.digest, streamOf(bytes.subarray(1000)), { start: 1000 });
          })(),
        );
      }
    }
    await Promise.all(pushes);
    for (let i = 0; i < 4; i++) expect(await store.statBlob(`repo${i}`, b.digest)).toBe(b.size);
    expect(await filesUnder(dir.path)).toEqual([`blobs/sha256/${b.digest.slice(7, 9)}/${b.digest.slice(7)}`]);
  });

  test("mount links a blob from another repository, or from anywhere without `from`", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("shared base layer");
    await store.putBlob("base", { digest: b.digest }, streamOf("shared base layer"));
    expect(await store.mountBlob("app", "base", b.digest)).toBe(true);
    expect(await store.statBlob("app", b.digest)).toBe(b.size);
    expect(await store.mountBlob("app2", "nothing-here", b.digest)).toBe(false);
    expect(await store.statBlob("app2", b.digest)).toBeUndefined();
    expect(await store.mountBlob("app3", undefined, b.digest)).toBe(true);
    expect(await store.mountBlob("app4", undefined, blob("absent").digest)).toBe(false);
  });

  test("deleting a blob unlinks it from one repository only; gc may then remove unreferenced bytes", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("to delete");
    await store.putBlob("a", { digest: b.digest }, streamOf("to delete"));
    await store.mountBlob("b", "a", b.digest);
    await store.deleteBlob("a", b.digest);
    expect(await store.statBlob("a", b.digest)).toBeUndefined();
    expect(await store.statBlob("b", b.digest)).toBe(b.size);
    expect(await code(store.deleteBlob("a", b.digest))).toBe("BLOB_UNKNOWN");
    // Within the grace window nothing goes; after it, the unreferenced blob does.
    expect(await store.deleteBlobIfUnreferenced(b.digest, 60_000)).toBe(false);
    expect(await store.deleteBlobIfUnreferenced(b.digest, 60_000, Date.now() + 120_000)).toBe(true);
    expect(await store.statBlob("b", b.digest)).toBeUndefined();
    expect(await filesUnder(dir.path)).toEqual([]);
  });
});

describe("upload sessions", () => {
  test("chunks at the right offsets, status, and a digest checked while the last chunk streams", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("0123456789abcdef");
    const { id, offset } = await store.startUpload("r");
    expect(offset).toBe(0);
    expect(await store.appendUpload("r", id, streamOf("0123"), { start: 0, length: 4 })).toEqual({ id, offset: 4 });
    expect(await store.appendUpload("r", id, streamOf("4567"))).toEqual({ id, offset: 8 });
    expect(await store.uploadStatus("r", id)).toEqual({ id, offset: 8 });
    await store.finishUpload("r", id, b.digest, streamOf("89abcdef"), { start: 8, length: 8 });
    expect(await text((await store.blob("r", b.digest)).stream())).toBe("0123456789abcdef");
    expect(await code(store.uploadStatus("r", id))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await filesUnder(dir.path)).toHaveLength(1);
  });

  test("gaps, overlaps and length lies are refused and leave the session as it was", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { id } = await store.startUpload("r");
    await store.appendUpload("r", id, streamOf("abcd"), { start: 0, length: 4 });
    expect(await code(store.appendUpload("r", id, streamOf("zz"), { start: 6 }))).toBe("RANGE_INVALID");
    expect(await code(store.appendUpload("r", id, streamOf("zz"), { start: 2 }))).toBe("RANGE_INVALID");
    expect(await code(store.appendUpload("r", id, streamOf("efg"), { start: 4, length: 10 }))).toBe("SIZE_INVALID");
    expect(await code(store.appendUpload("r", id, streamOf("efghijk"), { start: 4, length: 2 }))).toBe("SIZE_INVALID");
    await expect(store.appendUpload("r", id, failingStream("ef"), { start: 4 })).rejects.toThrow("connection reset");
    expect(await store.uploadStatus("r", id)).toEqual({ id, offset: 4 });
    // The session still works, and its hash covers exactly the accepted bytes.
    await store.finishUpload("r", id, blob("abcdef").digest, streamOf("ef"), { start: 4 });
    expect(await store.statBlob("r", blob("abcdef").digest)).toBe(6);
  });

  test("a wrong digest at the end drops the session and its bytes", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { id } = await store.startUpload("r");
    await store.appendUpload("r", id, streamOf("some bytes"));
    expect(await code(store.finishUpload("r", id, blob("other bytes").digest))).toBe("DIGEST_INVALID");
    expect(await code(store.uploadStatus("r", id))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await filesUnder(dir.path)).toEqual([]);
  });

  test("unknown, foreign and path-like upload ids are unknown", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { id } = await store.startUpload("mine");
    for (const bad of ["../../metadata.db", "..", "nope", `${id}/../x`, "00000000-0000-0000-0000-000000000000"]) {
      expect(await code(store.uploadStatus("mine", bad))).toBe("BLOB_UPLOAD_UNKNOWN");
    }
    expect(await code(store.uploadStatus("theirs", id))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await code(store.appendUpload("theirs", id, streamOf("x")))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await code(store.cancelUpload("theirs", id))).toBe("BLOB_UPLOAD_UNKNOWN");
    await store.cancelUpload("mine", id);
    expect(await code(store.uploadStatus("mine", id))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await filesUnder(dir.path)).toEqual([]);
  });

  test("a session survives a restart: the hash is rebuilt from the bytes on disk", async () => {
    await using dir = await tempDir();
    const b = blob("first half|second half");
    let id: string;
    {
      await using store = await openStore(dir.path);
      ({ id } = await store.startUpload("r"));
      await store.appendUpload("r", id, streamOf("first half|"));
    }
    {
      await using store = await openStore(dir.path);
      expect(await store.uploadStatus("r", id)).toEqual({ id, offset: 11 });
      await store.appendUpload("r", id, streamOf("second"), { start: 11 });
    }
    {
      await using store = await openStore(dir.path);
      await store.finishUpload("r", id, b.digest, streamOf(" half"), { start: 17 });
      expect(await text((await store.blob("r", b.digest)).stream())).toBe("first half|second half");
    }
  });

  test("one writer per session: a concurrent chunk is refused with RANGE_INVALID", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { id } = await store.startUpload("r");
    let release!: () => void;
    const slow = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("a"));
        release = () => controller.close();
      },
    });
    const first = store.appendUpload("r", id, slow);
    expect(await code(store.appendUpload("r", id, streamOf("b")))).toBe("RANGE_INVALID");
    release();
    expect(await first).toEqual({ id, offset: 1 });
  });

  test("a blob committed from a long-idle session looks new to gc's grace window", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("slow upload");
    const { id } = await store.startUpload("r");
    await store.appendUpload("r", id, streamOf("slow upload"));
    const longAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(join(dir.path, "uploads", id), longAgo, longAgo);
    await store.finishUpload("r", id, b.digest);
    const committed = await store.driver.stat(b.digest);
    expect(Date.now() - committed!.modified).toBeLessThan(60_000);
  });

  test("the sweep removes idle sessions and orphaned staged bytes, not fresh ones", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const old = await store.startUpload("r");
    await store.appendUpload("r", old.id, streamOf("stale"));
    expect(await store.sweepUploads(60_000)).toBe(0);
    expect(await store.sweepUploads(60_000, Date.now() + 120_000)).toBe(1);
    expect(await code(store.uploadStatus("r", old.id))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(await filesUnder(dir.path)).toEqual([]);
  });
});

describe("manifests", () => {
  async function pushImage(store: Store, repo: string, layerText: string[]) {
    const config = configBlob();
    const layers = layerText.map((t) => blob(t));
    for (const b of [config, ...layers]) await store.putBlob(repo, { digest: b.digest, size: b.size }, new Blob([b.bytes]));
    return { config, layers, manifest: imageManifest(config, layers) };
  }

  test("a manifest is stored byte for byte, resolvable by tag and digest", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { manifest } = await pushImage(store, "app", ["layer one", "layer two"]);
    expect(await store.putManifest("app", "v1", { bytes: manifest.bytes, mediaType: manifest.mediaType })).toBe(manifest.digest);
    const byTag = await store.manifest("app", "v1");
    expect(byTag).toEqual({ digest: manifest.digest, mediaType: MediaType.ociManifest, bytes: manifest.bytes });
    expect(await store.resolve("app", manifest.digest)).toEqual({
      mediaType: MediaType.ociManifest,
      digest: manifest.digest,
      size: manifest.size,
    });
    expect(await store.hasManifest("app", manifest.digest)).toBe(true);
    expect(await code(store.manifest("app", "v2"))).toBe("MANIFEST_UNKNOWN");
    expect(await code(store.manifest("nothing", "v1"))).toBe("NAME_UNKNOWN");
    expect(await code(store.manifest("app", "sha256:nothex"))).toBe("DIGEST_INVALID");
  });

  test("a manifest referencing a missing blob or child is refused and leaves no tag", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { config } = await pushImage(store, "app", []);
    const missing = blob("never pushed");
    const bad = imageManifest(config, [missing]);
    expect(await code(store.putManifest("app", "v1", bad))).toBe("MANIFEST_BLOB_UNKNOWN");
    // A blob in another repository does not count.
    await store.putBlob("elsewhere", { digest: missing.digest }, new Blob([missing.bytes]));
    expect(await code(store.putManifest("app", "v1", bad))).toBe("MANIFEST_BLOB_UNKNOWN");
    const index = imageIndex([bad]);
    expect(await code(store.putManifest("app", "v1", index))).toBe("MANIFEST_BLOB_UNKNOWN");
    expect(await store.tags("app")).toEqual([]);
    expect(await store.hasManifest("app", bad.digest)).toBe(false);
  });

  test("wrong digest, bad JSON, wrong size and schema1 are refused", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { manifest, config } = await pushImage(store, "app", ["l"]);
    const other = blob("x").digest;
    expect(await code(store.putManifest("app", other, manifest))).toBe("DIGEST_INVALID");
    expect(await code(store.putManifest("app", "v1", { bytes: new TextEncoder().encode("{nope"), mediaType: MediaType.ociManifest }))).toBe(
      "MANIFEST_INVALID",
    );
    const lying = imageManifest({ ...config, size: config.size + 1 }, []);
    expect(await code(store.putManifest("app", "v1", lying))).toBe("MANIFEST_INVALID");
    const schema1 = new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, name: "app", tag: "v1", fsLayers: [] }));
    expect(await code(store.putManifest("app", "v1", { bytes: schema1, mediaType: MediaType.dockerSchema1Signed }))).toBe(
      "MANIFEST_INVALID",
    );
    expect(await code(store.putManifest("app", "bad tag!", manifest))).toBe("TAG_INVALID");
    expect(await code(store.putManifest("Bad/Name", "v1", manifest))).toBe("NAME_INVALID");
    expect(await store.tags("app")).toEqual([]);
  });

  test("an index needs its children; tags move atomically; deleting a manifest removes its tags", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const amd = await pushImage(store, "multi", ["amd64 layer"]);
    const arm = await pushImage(store, "multi", ["arm64 layer"]);
    await store.putManifest("multi", amd.manifest.digest, amd.manifest);
    await store.putManifest("multi", arm.manifest.digest, arm.manifest);
    const index = imageIndex([
      { ...amd.manifest, platform: { os: "linux", architecture: "amd64" } },
      { ...arm.manifest, platform: { os: "linux", architecture: "arm64" } },
    ]);
    await store.putManifest("multi", index.digest, index, { tags: ["latest", "1.0"] });
    expect(await store.tags("multi")).toEqual(["1.0", "latest"]);
    expect((await store.resolve("multi", "latest")).digest).toBe(index.digest);
    await store.putManifest("multi", "latest", amd.manifest);
    expect((await store.resolve("multi", "latest")).digest).toBe(amd.manifest.digest);
    await store.deleteManifest("multi", amd.manifest.digest);
    expect(await store.tags("multi")).toEqual(["1.0"]);
    expect(await code(store.deleteManifest("multi", amd.manifest.digest))).toBe("MANIFEST_UNKNOWN");
    await store.deleteTag("multi", "1.0");
    expect(await store.tags("multi")).toEqual([]);
    expect(await store.hasManifest("multi", index.digest)).toBe(true);
    expect(await code(store.deleteTag("multi", "1.0"))).toBe("MANIFEST_UNKNOWN");
  });

  test("referrers come from the subject index, filtered by artifact type", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { manifest } = await pushImage(store, "app", ["l"]);
    const empty = blob("{}", MediaType.ociEmpty);
    await store.putBlob("app", { digest: empty.digest }, new Blob([empty.bytes]));
    const subject = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    // The subject need not exist yet.
    const sbom = imageManifest(empty, [], { artifactType: "application/spdx+json", subject, annotations: { kind: "sbom" } });
    const sig = imageManifest(empty, [], { artifactType: "application/vnd.dev.cosign", subject });
    await store.putManifest("app", sbom.digest, sbom);
    await store.putManifest("app", sig.digest, sig);
    await store.putManifest("app", "v1", manifest);
    const all = await store.referrers("app", manifest.digest);
    expect(all.map((d) => d.digest).sort()).toEqual([sbom.digest, sig.digest].sort());
    expect(await store.referrers("app", manifest.digest, "application/spdx+json")).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: sbom.digest,
        size: sbom.size,
        artifactType: "application/spdx+json",
        annotations: { kind: "sbom" },
      },
    ]);
    expect(await store.referrers("app", blob("nothing").digest)).toEqual([]);
    expect(await store.referrers("unknown", manifest.digest)).toEqual([]);
  });

  test("catalog and tags paginate in byte order", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { manifest } = await pushImage(store, "app", []);
    for (const tag of ["b", "A", "a", "_x", "1.0"]) await store.putManifest("app", tag, manifest);
    for (const repo of ["zeta", "alpha/one", "alpha"]) await pushImage(store, repo, []);
    expect(await store.tags("app")).toEqual(["1.0", "A", "_x", "a", "b"]);
    expect(await store.tags("app", { limit: 2 })).toEqual(["1.0", "A"]);
    expect(await store.tags("app", { last: "A", limit: 2 })).toEqual(["_x", "a"]);
    expect(await store.repositories()).toEqual(["alpha", "alpha/one", "app", "zeta"]);
    expect(await store.repositories({ last: "alpha/one", limit: 1 })).toEqual(["app"]);
    expect(await code(store.tags("nope"))).toBe("NAME_UNKNOWN");
    const all = [];
    for await (const m of store.allManifests(1)) all.push(m.digest);
    expect(all).toEqual([manifest.digest]);
    const blobs = [];
    for await (const b of store.allBlobs(1)) blobs.push(b.digest);
    expect(blobs).toHaveLength(1);
  });
});
