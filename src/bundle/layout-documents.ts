/**
 * The JSON documents at the top of a bundle, built so the same content
 * always gives the same bytes: fields in a fixed order, entries sorted,
 * no whitespace.
 *
 *   oci-layout      {"imageLayoutVersion":"1.0.0"}
 *   index.json      one entry per image, sorted by name; named with
 *                   org.opencontainers.image.ref.name (and containerd's
 *                   io.containerd.image.name) = the full reference;
 *                   then referrers (unnamed, by digest); a delta's base
 *                   in the index's annotations (transports' delta-base.ts)
 *   manifest.json   what `docker load` reads, for the images it can load
 *                   (one platform): Config and Layers are paths into blobs/
 */
import { algorithmOf, type Digest, encodedOf } from "../digest/index.ts";
import { Annotation, type Descriptor, MediaType } from "../oci/index.ts";

export const OCI_LAYOUT_BYTES = new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}');

export interface NamedEntry {
  /** The full reference (`docker.io/library/nginx:1.25`, or `…@sha256:…` without a tag). */
  refName: string;
  descriptor: Descriptor;
}

export interface DockerImage {
  /** Names docker tags the image with (none for an image known by digest only). */
  repoTags: string[];
  config: Digest;
  layers: Digest[];
}

/** `blobs/<alg>/<encoded>`. */
export function blobPath(digest: Digest): string {
  return `blobs/${algorithmOf(digest)}/${encodedOf(digest)}`;
}

/** A descriptor with only the fields an index entry carries, in a fixed order. */
function entry(d: Descriptor, annotations?: Record<string, string>) {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    ...(annotations ? { annotations: sortedRecord(annotations) } : {}),
  };
}

export function indexJson(images: NamedEntry[], referrers: Descriptor[], annotations?: Record<string, string>): Uint8Array {
  const named = [...images]
    .sort((a, b) => compare(a.refName, b.refName) || compare(a.descriptor.digest, b.descriptor.digest))
    .map((i) => entry(i.descriptor, { [Annotation.containerdImageName]: i.refName, [Annotation.refName]: i.refName }));
  const unnamed = [...new Map(referrers.map((d) => [d.digest, d])).values()]
    .sort((a, b) => compare(a.digest, b.digest))
    .map((d) => entry(d));
  const document = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...named, ...unnamed],
    ...(annotations && Object.keys(annotations).length ? { annotations: sortedRecord(annotations) } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(document));
}

export function manifestJson(images: DockerImage[]): Uint8Array {
  const entries = [...images]
    .sort((a, b) => compare(a.repoTags[0] ?? "\uffff", b.repoTags[0] ?? "\uffff") || compare(a.config, b.config))
    .map((i) => ({ Config: blobPath(i.config), RepoTags: i.repoTags, Layers: i.layers.map(blobPath) }));
  return new TextEncoder().encode(JSON.stringify(entries));
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compare(a, b)));
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
