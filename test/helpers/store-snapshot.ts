/**
 * Stores for copy tests: fill one with a small but complete set (images
 * sharing layers across repositories, a multi-arch index, a referrer,
 * tags, a pull time), and read any store back as one comparable value
 * (every tag, manifest, blob digest and time), so "the target holds what
 * the source held" is one toEqual.
 */
import type { Digest } from "../../src/digest/index.ts";
import type { Store } from "../../src/store/index.ts";
import { allBlobs, allManifests, type GeneratedManifest, generateRelease } from "./images.ts";

export interface StoreSnapshot {
  tags: { repository: string; name: string; digest: Digest; updated: number }[];
  manifests: { repository: string; digest: Digest; mediaType: string; created: number }[];
  links: { repository: string; digest: Digest }[];
  /** digest → sha256 of the bytes read back through the driver */
  blobs: Record<string, string>;
  pulls: Record<string, number>;
}

/** Push a release into `store`: each image under its own repository, the signature as a referrer. */
export async function fillStore(store: Store, seed = "copy"): Promise<GeneratedManifest[]> {
  const release = await generateRelease({ seed, images: 3, layerSize: 64 * 1024 });
  for (const image of release) {
    const repository = repositoryOf(image);
    for (const blob of allBlobs([image])) {
      if ((await store.statBlob(repository, blob.descriptor.digest)) === undefined) {
        await store.putBlob(repository, blob.descriptor, new Blob([blob.bytes]));
      }
    }
    for (const m of allManifests([image]).reverse()) {
      if (m !== image) await store.putManifest(repository, m.descriptor.digest, { bytes: m.bytes, mediaType: m.descriptor.mediaType });
    }
    const tag = image.name!.split(":").at(-1)!;
    await store.putManifest(repository, tag, { bytes: image.bytes, mediaType: image.descriptor.mediaType });
  }
  // An older tag and a pull time, to see that times travel.
  const first = release[0]!;
  await store.metadata.database`UPDATE tags SET updated_at = 1000 WHERE repository = ${repositoryOf(first)}`;
  await store.metadata.database`INSERT INTO manifest_pulls (repository, digest, pulled_at) VALUES (${repositoryOf(first)}, ${first.descriptor.digest}, 2000)`;
  return release;
}

export function repositoryOf(image: GeneratedManifest): string {
  return image.name!.replace(/^docker\.io\//, "").split(":")[0]!;
}

export async function snapshot(store: Store): Promise<StoreSnapshot> {
  const m = store.metadata.maintenance;
  const tags: StoreSnapshot["tags"] = [];
  for await (const t of m.tags()) tags.push(t);
  const manifests: StoreSnapshot["manifests"] = [];
  for await (const r of m.manifests()) manifests.push({ repository: r.repository, digest: r.digest, mediaType: r.mediaType, created: r.created });
  const links: StoreSnapshot["links"] = [];
  for (let after = { repository: "", digest: "" }; ; ) {
    const page = await m.links(after, Number.MAX_SAFE_INTEGER, 1000);
    links.push(...page.map((l) => ({ repository: l.repository, digest: l.digest })));
    if (page.length < 1000) break;
    after = page.at(-1)!;
  }
  const blobs: Record<string, string> = {};
  for await (const b of store.allBlobs()) {
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of store.driver.open(b.digest, b.size).stream()) hasher.update(chunk);
    blobs[b.digest] = `sha256:${hasher.digest("hex")}`;
  }
  return { tags, manifests, links, blobs, pulls: Object.fromEntries(await m.pulls()) };
}
