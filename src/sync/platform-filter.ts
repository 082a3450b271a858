/**
 * `--platform`: choose the platforms of a multi-arch index to copy.
 *
 * - One platform asked: copy that platform's image manifest alone, as
 *   `crane copy --platform` and `skopeo copy --override-arch` do (the tag
 *   then names a single-platform image; its digest is the child's).
 * - Several platforms: rewrite the index keeping the matching entries (and
 *   the attestation entries buildx attaches to them). New bytes, so a new
 *   digest: the caller must say so.
 * - When every entry matches, the index is copied unchanged.
 */
import { digestOf } from "../digest/index.ts";
import {
  type Descriptor,
  formatPlatform,
  type ImageIndex,
  type ManifestContent,
  OciError,
  type Platform,
  platformMatches,
} from "../oci/index.ts";

/** buildx stores provenance and SBOM manifests in the index, pointing at the image they describe. */
const REFERENCE_TYPE = "vnd.docker.reference.type";
const REFERENCE_DIGEST = "vnd.docker.reference.digest";

export type PlatformChoice =
  | { kind: "unchanged" }
  | { kind: "single"; descriptor: Descriptor }
  | { kind: "rewritten"; content: ManifestContent; kept: Descriptor[] };

export function choosePlatforms(content: ManifestContent, index: ImageIndex, platforms: Platform[]): PlatformChoice {
  const matching = index.manifests.filter((d) => platforms.some((p) => platformMatches(p, d.platform)));
  if (matching.length === 0) {
    const offered = index.manifests
      .filter((d) => d.platform && !d.annotations?.[REFERENCE_TYPE])
      .map((d) => formatPlatform(d.platform!));
    throw new OciError(
      "MANIFEST_UNKNOWN",
      `no manifest for ${platforms.map(formatPlatform).join(", ")} in the index (it has ${offered.length ? offered.join(", ") : "no platforms"})`,
    );
  }
  if (platforms.length === 1) return { kind: "single", descriptor: matching[0]! };
  const keptDigests = new Set<string>(matching.map((d) => d.digest));
  const keep = (d: Descriptor) =>
    keptDigests.has(d.digest) || (d.annotations?.[REFERENCE_TYPE] !== undefined && keptDigests.has(d.annotations[REFERENCE_DIGEST] ?? ""));
  if (index.manifests.every(keep)) return { kind: "unchanged" };
  // Edit the raw JSON, not the parsed value: the schema drops fields it does not know.
  const raw = JSON.parse(new TextDecoder().decode(content.bytes)) as { manifests: unknown[] };
  raw.manifests = raw.manifests.filter((_, i) => keep(index.manifests[i]!));
  const bytes = new TextEncoder().encode(JSON.stringify(raw));
  return {
    kind: "rewritten",
    content: { digest: digestOf(bytes), mediaType: content.mediaType, bytes },
    kept: index.manifests.filter(keep),
  };
}
