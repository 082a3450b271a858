/** The test image generator makes real, valid, deterministic images. */
import { expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../src/digest/index.ts";
import { manifestReferences, parseManifest } from "../../src/oci/index.ts";
import {
  allBlobs,
  allManifests,
  generateImage,
  generateRelease,
  randomBytes,
  writeOciLayout,
  writeReleaseLayout,
} from "../helpers/images.ts";
import { MemoryHome } from "../helpers/memory-home.ts";

test("generated images are deterministic and self-consistent", async () => {
  const a = await generateImage({ name: "docker.io/acme/a:1", layers: 3, layerSize: 5000 });
  const b = await generateImage({ name: "docker.io/acme/a:1", layers: 3, layerSize: 5000 });
  expect(a.descriptor.digest).toBe(b.descriptor.digest);
  const parsed = parseManifest(a.bytes, a.descriptor.mediaType);
  expect(manifestReferences(parsed).blobs.map((d) => d.digest)).toEqual(a.blobs.map((b) => b.descriptor.digest));
  for (const blob of a.blobs) expect(digestOf(blob.bytes)).toBe(blob.descriptor.digest);
});

test("a release shares base layers and writes a valid layout", async () => {
  const release = await generateRelease();
  const blobs = allBlobs(release);
  const layerCount = release.flatMap((m) => [...m.blobs, ...m.children.flatMap((c) => c.blobs)]).length;
  expect(blobs.length).toBeLessThan(layerCount);
  const dir = await mkdtemp(join(tmpdir(), "layout-"));
  try {
    await writeOciLayout(dir, release);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    expect(index.manifests.length).toBe(release.length);
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("docker.io/acme/app-0:1.0");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("memory home refuses bad digests and missing blobs", async () => {
  const home = new MemoryHome();
  const image = await generateImage({ name: "x:1" });
  const [config, layer] = image.blobs;
  await expect(home.putManifest("x", "1", { bytes: image.bytes, mediaType: image.descriptor.mediaType })).rejects.toThrow();
  await expect(home.putBlob("x", config!.descriptor, new Blob([layer!.bytes]))).rejects.toThrow(/digest|size/);
  for (const b of image.blobs) await home.putBlob("x", b.descriptor, new Blob([b.bytes]));
  expect(await home.putManifest("x", "1", { bytes: image.bytes, mediaType: image.descriptor.mediaType })).toBe(image.descriptor.digest);
  expect(allManifests([image]).length).toBe(1);
});

test("random bytes are the same sequence on every run (digests pinned)", () => {
  expect([digestOf(randomBytes("pin", 1001)) as string, digestOf(randomBytes("release/base-a", 65536)), randomBytes("x", 5).length]).toEqual([
    "sha256:90173f3c4133e77f706b3bddae64406af707178c1a696ba8eb740717a01b57c1",
    "sha256:e45749e7c1618c7cd47b32646dcef7f16e78239f0e91902c28722884afd67828",
    5,
  ]);
});

test("a release written a layer at a time is the layout generateRelease writes", async () => {
  const options = { images: 3, layerSize: 3000, seed: "streamed" };
  const [whole, streamed] = [await mkdtemp(join(tmpdir(), "layout-")), await mkdtemp(join(tmpdir(), "layout-"))];
  try {
    const release = await generateRelease(options);
    await writeOciLayout(whole, release);
    const written = await writeReleaseLayout(streamed, options);
    const files = async (dir: string) => {
      const names = (await readdir(join(dir, "blobs", "sha256"))).sort();
      return { names, index: await readFile(join(dir, "index.json"), "utf8") };
    };
    expect(await files(streamed)).toEqual(await files(whole));
    const blobs = [...allBlobs(release), ...allManifests(release)];
    expect(written).toEqual({
      images: release.map((m) => ({ name: m.name!, descriptor: m.descriptor })),
      blobs: blobs.length,
      bytes: blobs.reduce((sum, b) => sum + b.descriptor.size, 0),
    });
    for (const name of (await files(streamed)).names) {
      expect(digestOf(await readFile(join(streamed, "blobs", "sha256", name))) as string).toBe(`sha256:${name}`);
    }
  } finally {
    await Promise.all([rm(whole, { recursive: true, force: true }), rm(streamed, { recursive: true, force: true })]);
  }
});
