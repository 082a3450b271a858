/**
 * Picking one image out of an index for the commands that show a single
 * image: `--platform os/arch[/variant]`, else the platform of this machine.
 */
import {
  type Descriptor,
  formatPlatform,
  type ManifestContent,
  type ParsedManifest,
  parseManifest,
  parsePlatform,
  type Platform,
  PlatformError,
  platformMatches,
} from "../oci/index.ts";
import { CommandError, UsageError } from "./command.ts";

const NODE_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export function hostPlatform(): Platform {
  return { os: process.platform === "win32" ? "windows" : process.platform, architecture: NODE_ARCH[process.arch] ?? process.arch };
}

export function parsePlatformFlag(text: string | undefined): Platform | undefined {
  if (text === undefined) return undefined;
  try {
    return parsePlatform(text);
  } catch (error) {
    if (error instanceof PlatformError) throw new UsageError(error.message);
    throw error;
  }
}

/** The platform an index entry says it is for (`unknown` for attestations and the like). */
export function describePlatform(descriptor: Descriptor): string {
  return descriptor.platform ? formatPlatform(descriptor.platform) : "unknown";
}

/**
 * The entry of an index for `wanted` (or this machine's platform when the
 * user did not ask). Throws a message listing what the index offers.
 */
export function selectFromIndex(name: string, parsed: ParsedManifest & { kind: "index" }, wanted: Platform | undefined): Descriptor {
  const platform = wanted ?? hostPlatform();
  const match = parsed.index.manifests.find((d) => platformMatches(platform, d.platform));
  if (match) return match;
  const offered = parsed.index.manifests.filter((d) => d.platform).map(describePlatform);
  throw new CommandError(
    `${name} has no image for ${formatPlatform(platform)}${offered.length ? `; it offers ${offered.join(", ")}` : ""}${wanted ? "" : " (choose with --platform)"}`,
  );
}

export function parseFetched(content: ManifestContent): ParsedManifest {
  return parseManifest(content.bytes, content.mediaType);
}
