/**
 * A distribution registry's storage tree, written by hand in the layout
 * `docker-registry` uses (checked against the real one by the integration
 * test): blobs/sha256/ab/<hex>/data, and per repository the _layers,
 * _manifests/revisions and _manifests/tags/<tag>/{current,index} links.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodedOf } from "../../src/digest/index.ts";
import { allBlobs, allManifests, type GeneratedManifest } from "./images.ts";

export async function writeRegistryDir(root: string, images: { repository: string; tag: string; image: GeneratedManifest }[]): Promise<void> {
  const v2 = join(root, "docker", "registry", "v2");
  const link = async (path: string, digest: string) => {
    await mkdir(path, { recursive: true });
    await writeFile(join(path, "link"), digest);
  };
  const data = async (digest: string, bytes: Uint8Array) => {
    const hex = encodedOf(digest as never);
    const dir = join(v2, "blobs", "sha256", hex.slice(0, 2), hex);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "data"), bytes);
  };
  for (const { repository, tag, image } of images) {
    const repo = join(v2, "repositories", repository);
    for (const b of allBlobs([image])) {
      await data(b.descriptor.digest, b.bytes);
      await link(join(repo, "_layers", "sha256", encodedOf(b.descriptor.digest)), b.descriptor.digest);
    }
    for (const m of allManifests([image])) {
      await data(m.descriptor.digest, m.bytes);
      await link(join(repo, "_manifests", "revisions", "sha256", encodedOf(m.descriptor.digest)), m.descriptor.digest);
    }
    await link(join(repo, "_manifests", "tags", tag, "current"), image.descriptor.digest);
    await link(join(repo, "_manifests", "tags", tag, "index", "sha256", encodedOf(image.descriptor.digest)), image.descriptor.digest);
  }
}
