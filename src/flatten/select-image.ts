/**
 * From a reference to the one image manifest to flatten: an index is
 * resolved to the wanted platform; manifests are checked against their
 * digests; only layers that are tar archives are accepted.
 */
import { type Digest, digestOf } from "../digest/index.ts";
import {
  type Descriptor,
  formatPlatform,
  type ImageReader,
  imageConfigSchema,
  OciError,
  parseManifest,
  type Platform,
  platformMatches,
} from "../oci/index.ts";
import { FlattenError } from "./errors.ts";
import { isTarLayer } from "./layer-stream.ts";

export interface SelectedImage {
  /** Digest of the image manifest (a child of the index, when there is one). */
  digest: Digest;
  /** Digest of the index it was chosen from, if any. */
  index?: Digest;
  platform?: Platform;
  layers: Descriptor[];
}

const CONFIG_MAX = 8 * 1024 * 1024;

/** The platform of this machine, as images name it. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}

/**
 * `platform` picks from an index (default: this machine's). With
 * `strictPlatform`, a single image of another platform is refused too.
 */
export async function selectImage(
  reader: ImageReader,
  repository: string,
  reference: string,
  options: { platform?: Platform; strictPlatform?: boolean } = {},
): Promise<SelectedImage> {
  const wanted = options.platform ?? hostPlatform();
  const top = await reader.manifest(repository, reference);
  checkDigest(top.bytes, top.digest, `${repository}:${reference}`);
  let parsed = parseManifest(top.bytes, top.mediaType);
  let digest = top.digest;
  let index: Digest | undefined;
  let platform: Platform | undefined;
  if (parsed.kind === "index") {
    const entries = parsed.index.manifests;
    const match = entries.find((m) => platformMatches(wanted, m.platform));
    if (!match) {
      const offered = entries.map((m) => (m.platform ? formatPlatform(m.platform) : "(no platform)"));
      throw new FlattenError(
        `${repository}:${reference} has no image for ${formatPlatform(wanted)}; it offers ${offered.join(", ") || "nothing"} (choose with --platform)`,
      );
    }
    const child = await reader.manifest(repository, match.digest);
    checkDigest(child.bytes, match.digest, `${repository}@${match.digest}`);
    parsed = parseManifest(child.bytes, child.mediaType);
    if (parsed.kind !== "image") throw new FlattenError(`${repository}@${match.digest}: an index inside an index is not an image`);
    index = digest;
    digest = match.digest;
    platform = match.platform;
  }
  if (parsed.kind !== "image") throw new OciError("MANIFEST_INVALID", "not an image manifest");
  const manifest = parsed.manifest;
  for (const layer of manifest.layers) {
    if (!isTarLayer(layer.mediaType)) {
      throw new FlattenError(`${repository}:${reference} is not a container image: layer ${layer.digest} has media type ${layer.mediaType}`);
    }
  }
  if (!platform) {
    platform = await configPlatform(reader, repository, manifest.config);
    if (options.strictPlatform && platform && !platformMatches(wanted, platform)) {
      throw new FlattenError(`${repository}:${reference} is an image for ${formatPlatform(platform)}, not ${formatPlatform(wanted)}`);
    }
  }
  return { digest, ...(index ? { index } : {}), ...(platform ? { platform } : {}), layers: manifest.layers };
}

function checkDigest(bytes: Uint8Array, digest: Digest, what: string): void {
  const actual = digestOf(bytes, digest.startsWith("sha512:") ? "sha512" : "sha256");
  if (actual !== digest) throw new OciError("DIGEST_INVALID", `manifest ${what} hashes to ${actual}, not ${digest}`);
}

async function configPlatform(reader: ImageReader, repository: string, config: Descriptor): Promise<Platform | undefined> {
  if (config.size > CONFIG_MAX) return undefined;
  try {
    const blob = await reader.blob(repository, config.digest);
    const bytes = new Uint8Array(await new Response(blob.stream()).arrayBuffer());
    if (digestOf(bytes) !== config.digest) return undefined;
    const parsed = imageConfigSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!parsed.success || !parsed.data.os || !parsed.data.architecture) return undefined;
    const { os, architecture, variant } = parsed.data;
    return variant ? { os, architecture, variant } : { os, architecture };
  } catch {
    // The platform is informative here; a missing config does not stop a flatten.
    return undefined;
  }
}
