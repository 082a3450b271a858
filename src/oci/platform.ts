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

/** Parse `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-zA-Z0-9_.-]+$/.test(p))) {
    throw new PlatformError(`Invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * True when `candidate` satisfies the `wanted` platform. A wanted platform
 * without a variant matches every variant; arm64 treats a missing variant
 * as v8, as containerd does.
 */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false;
  if (!wanted.variant) return true;
  const normal = (p: Platform) => p.variant ?? (p.architecture === "arm64" ? "v8" : undefined);
  return normal(wanted) === normal(candidate);
}
