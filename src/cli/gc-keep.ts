/**
 * What `gc --keep` reads: image lists (one reference per line with `#`
 * comments, or the YAML form `bundle create` reads) and bundles (an OCI
 * layout directory or a tar of one: the names in index.json). Each image
 * becomes a keep entry naming the store repositories it may be:
 *
 *   docker.io/library/nginx:1.25   → library/nginx (the site registry replaces the domain, as sync does)
 *                                    docker.io/library/nginx (a store filled with full names)
 *   site:5000/library/nginx:1.25   → library/nginx (lists that name the site registry already)
 *   with --prefix P                → P/library/nginx
 *
 * A bundle entry keeps its tag and its manifest digest.
 */
import type { Reference } from "../reference/index.ts";
import type { KeepEntry } from "../store/index.ts";
import { joinPath, readImageList, TransportError } from "../transports/index.ts";
import { CommandError } from "./command.ts";

export interface KeepSources {
  entries: KeepEntry[];
  /** Bundle entries that name no repository (a bare tag): nothing can be kept for them. */
  warnings: string[];
}

/** Read every keep source; any unreadable or malformed one is an error naming file and line. */
export async function readKeepSources(paths: string[], prefix?: string): Promise<KeepSources> {
  const out: KeepSources = { entries: [], warnings: [] };
  for (const path of paths) {
    let listing;
    try {
      listing = await readImageList(path, "keep list");
    } catch (error) {
      if (error instanceof TransportError) throw new CommandError(`gc: ${error.message}`);
      throw error;
    }
    for (const image of listing.images) out.entries.push(entryFor(image.name, image.origin, prefix));
    for (const { origin, refName } of listing.unnamed) {
      out.warnings.push(`${origin}: ${JSON.stringify(refName)} names no repository; nothing can be kept for it`);
    }
  }
  return out;
}

export function entryFor(ref: Reference, origin: string, prefix?: string): KeepEntry {
  const repositories = prefix ? [joinPath(prefix, ref.path)] : [...new Set([ref.path, ref.name])];
  return {
    repositories,
    ...(ref.tag ? { tag: ref.tag } : {}),
    ...(ref.digest ? { digest: ref.digest } : {}),
    name: ref.toString(),
    origin,
  };
}
