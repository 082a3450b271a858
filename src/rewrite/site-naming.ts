/**
 * How an image is named at the site registry: the domain replaced, the
 * path kept, an optional prefix in front — the naming `sync` uses, so a
 * rewritten manifest points at what a sync pushed.
 *
 *   docker.io/library/nginx:1.25  →  site:5000/library/nginx:1.25
 *   nginx:1.25 (prefix "mirror")  →  site:5000/mirror/library/nginx:1.25
 */
import { patterns, Reference } from "../reference/index.ts";
import { RewriteError } from "./errors.ts";

export interface SiteRegistry {
  /** `host[:port]` of the site registry. */
  registry: string;
  /** Path components put before every repository, without slashes at either end. */
  prefix?: string;
}

/** Validate the registry and prefix a user gave; returns them cleaned. */
export function siteRegistry(registry: string, prefix?: string): SiteRegistry {
  const host = registry.replace(/^(?:docker|https?):\/\//, "").replace(/\/+$/, "");
  if (!patterns.ANCHORED_DOMAIN.test(host)) {
    throw new RewriteError(`Invalid registry ${JSON.stringify(registry)}: expected host[:port], e.g. registry.local:5000`);
  }
  let cleaned: string | undefined;
  if (prefix !== undefined) {
    cleaned = prefix.replace(/^\/+|\/+$/g, "");
    if (cleaned === "") cleaned = undefined;
    else if (!patterns.ANCHORED_REMOTE_NAME.test(cleaned)) {
      throw new RewriteError(`Invalid prefix ${JSON.stringify(prefix)}: expected lowercase path components like "mirror" or "site/images"`);
    }
  }
  return cleaned ? { registry: host, prefix: cleaned } : { registry: host };
}

/** True when the reference already names the site registry. */
export function isAtSite(site: SiteRegistry, ref: Reference): boolean {
  return ref.domain.toLowerCase() === site.registry.toLowerCase();
}

/** The repository path at the site for a normalised reference. */
export function sitePath(site: SiteRegistry, ref: Reference): string {
  return site.prefix ? `${site.prefix}/${ref.path}` : ref.path;
}

/** The reference at the site registry; tag and digest kept. */
export function toSite(site: SiteRegistry, ref: Reference): Reference {
  return new Reference(site.registry, sitePath(site, ref), ref.tag, ref.digest);
}

/**
 * The path a site reference had at its origin: the prefix taken off.
 * Undefined when the reference is not at the site, or lacks the prefix.
 */
export function originPath(site: SiteRegistry, ref: Reference): string | undefined {
  if (!isAtSite(site, ref)) return undefined;
  if (!site.prefix) return ref.path;
  return ref.path.startsWith(`${site.prefix}/`) ? ref.path.slice(site.prefix.length + 1) : undefined;
}
