/** Platforms (`os/arch[/variant]`) and matching them against index entries. */
import { z } from "zod";

export const platformSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof platformSchema>;

export class PlatformError extends Error {
  override readonly name = "PlatformError";
}

/** Architecture names other tools print, and the GOARCH name the image spec uses. */
const ARCHITECTURE_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  i386: { architecture: "386" },
  x86_64: { architecture: "amd64" },
  "x86-64": { architecture: "amd64" },
  aarch64: { architecture: "arm64" },
  armhf: { architecture: "arm", variant: "v7" },
  armel: { architecture: "arm", variant: "v6" },
};

/**
 * Parse `os/arch[/variant]`, e.g. `linux/arm64/v8`. Names are lowercased and
 * aliases become the image spec's names (`x86_64` -> `amd64`, `aarch64` ->
 * `arm64`, `armhf` -> `arm/v7`); a bare variant number gets its `v`.
 */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-zA-Z0-9_.-]+$/.test(p))) {
    throw new PlatformError(`Invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, arch, typedVariant] = parts.map((p) => p.toLowerCase()) as [string, string, string?];
  const alias = ARCHITECTURE_ALIASES[arch];
  const architecture = alias?.architecture ?? arch;
  let variant = typedVariant ?? alias?.variant;
  if (variant && /^[0-9]+$/.test(variant)) variant = `v${variant}`;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The variant an image without one is built for, as containerd assumes. */
const DEFAULT_VARIANTS: Record<string, string> = { arm64: "v8", arm: "v7", amd64: "v1" };

/**
 * True when `candidate` satisfies the `wanted` platform. A wanted platform
 * without a variant matches every variant; a candidate without one has its
 * architecture's default (arm64: v8, arm: v7, amd64: v1), as containerd
 * treats it.
 */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false;
  if (!wanted.variant) return true;
  const normal = (p: Platform) => p.variant ?? DEFAULT_VARIANTS[p.architecture];
  return normal(wanted) === normal(candidate);
}
