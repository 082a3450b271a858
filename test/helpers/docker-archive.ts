/**
 * `docker save` archives built by hand, in the shapes real tools write:
 *
 *   legacy   <layer id>/layer.tar, <config hex>.json, manifest.json, repositories   (docker < 25)
 *   symlink  <diff id>.tar with <layer id>/layer.tar -> ../<diff id>.tar             (skopeo)
 *   oci      blobs/sha256/<hex> for config and layers, oci-layout, index.json          (docker 25+)
 *
 * Layers are stored as the generator made them (gzip or plain tar), so the
 * schema2 manifest a reader builds from a docker-format image is the
 * generator's own manifest, byte for byte.
 */
import { encodedOf, digestOf } from "../../src/digest/index.ts";
import { parseReference } from "../../src/reference/index.ts";
import { buildTar, type GeneratedManifest } from "./images.ts";

export type DockerArchiveStyle = "legacy" | "symlink" | "oci";

type Entry = Parameters<typeof buildTar>[0][number];

export async function dockerArchiveBytes(
  images: GeneratedManifest[],
  options: { style?: DockerArchiveStyle; repoTags?: (image: GeneratedManifest) => string[] } = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const style = options.style ?? "legacy";
  const entries = new Map<string, Entry>();
  const add = (e: Entry) => entries.set(e.name, e);
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const indexEntries: unknown[] = [];
  for (const image of images) {
    const [config, ...layers] = image.blobs;
    const configHex = encodedOf(config!.descriptor.digest);
    const configPath = style === "oci" ? `blobs/sha256/${configHex}` : `${configHex}.json`;
    add({ name: configPath, data: config!.bytes });
    const layerPaths: string[] = [];
    let parent = "";
    for (const layer of layers) {
      const hex = encodedOf(layer.descriptor.digest);
      // A legacy layer id: a chain of digests, as docker derives it.
      const id = encodedOf(digestOf(`${parent} ${hex}`));
      parent = id;
      if (style === "oci") {
        add({ name: `blobs/sha256/${hex}`, data: layer.bytes });
        layerPaths.push(`blobs/sha256/${hex}`);
      } else if (style === "symlink") {
        add({ name: `${hex}.tar`, data: layer.bytes });
        add({ name: `${id}/layer.tar`, type: "symlink", linkname: `../${hex}.tar` });
        add({ name: `${id}/VERSION`, data: new TextEncoder().encode("1.0") });
        layerPaths.push(`${hex}.tar`);
      } else {
        add({ name: `${id}/`, type: "directory" });
        add({ name: `${id}/layer.tar`, data: layer.bytes });
        add({ name: `${id}/VERSION`, data: new TextEncoder().encode("1.0") });
        layerPaths.push(`${id}/layer.tar`);
      }
    }
    const tags = options.repoTags ? options.repoTags(image) : image.name ? [image.name] : [];
    manifest.push({ Config: configPath, RepoTags: tags.length ? tags : null, Layers: layerPaths });
    if (style === "oci") {
      // Docker 25+ also writes each image's manifest and an index.json, as an OCI layout.
      add({ name: `blobs/sha256/${encodedOf(image.descriptor.digest)}`, data: image.bytes });
      for (const t of tags) {
        const ref = parseReference(t);
        indexEntries.push({
          mediaType: image.descriptor.mediaType,
          digest: image.descriptor.digest,
          size: image.descriptor.size,
          annotations: { "io.containerd.image.name": t, "org.opencontainers.image.ref.name": ref.tag ?? "latest" },
        });
      }
    }
    for (const t of tags) {
      const ref = parseReference(t);
      (repositories[ref.name] ??= {})[ref.tag ?? "latest"] = parent;
    }
  }
  add({ name: "manifest.json", data: new TextEncoder().encode(JSON.stringify(manifest)) });
  if (style !== "oci") add({ name: "repositories", data: new TextEncoder().encode(JSON.stringify(repositories)) });
  else {
    add({ name: "oci-layout", data: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') });
    add({ name: "index.json", data: new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: indexEntries })) });
  }
  return buildTar([...entries.values()]);
}
