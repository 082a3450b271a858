/**
 * What the store holds, as the admin API shows it: repositories, tags and
 * usage, answered by SQL queries of the store's metadata (no walks over
 * blobs). Times are ISO 8601 strings.
 */
import type { Digest } from "../digest/index.ts";
import { formatPlatform, isIndexType, parseManifest } from "../oci/index.ts";
import { NAME_TOTAL_LENGTH_MAX, patterns } from "../reference/index.ts";
import type { Store, UsageReport } from "../store/index.ts";
import { AdminError } from "./admin-error.ts";

export interface RepositoryView {
  name: string;
  tags: number;
  manifests: number;
  size: number;
  lastPush?: string;
}

export interface TagView {
  tag: string;
  digest: string;
  mediaType: string;
  /** For an index: the platforms of its entries (`linux/arm64/v8`). */
  platforms?: string[];
  size: number;
  pushed: string;
  lastPulled?: string;
}

/** Repositories after `last` in name order, at most `limit`. */
export async function listRepositories(store: Store, last: string | undefined, limit: number): Promise<RepositoryView[]> {
  const rows = await store.metadata.repositorySummaries(last, limit);
  return rows.map((r) => ({
    name: r.name,
    tags: r.tags,
    manifests: r.manifests,
    size: r.size,
    ...(r.lastPush !== undefined ? { lastPush: iso(r.lastPush) } : {}),
  }));
}

export async function listTags(store: Store, repository: string): Promise<TagView[]> {
  checkName(repository);
  const rows = await store.metadata.tagDetails(repository);
  if (rows.length === 0 && !(await store.metadata.repositoryExists(repository))) {
    throw new AdminError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not in the store`);
  }
  const out: TagView[] = [];
  for (const r of rows) {
    const platforms = isIndexType(r.mediaType) ? await indexPlatforms(store, repository, r.digest) : undefined;
    out.push({
      tag: r.tag,
      digest: r.digest,
      mediaType: r.mediaType,
      ...(platforms ? { platforms } : {}),
      size: r.size,
      pushed: iso(r.pushed),
      ...(r.lastPulled !== undefined ? { lastPulled: iso(r.lastPulled) } : {}),
    });
  }
  return out;
}

export function usage(store: Store): Promise<UsageReport> {
  return store.metadata.usage();
}

export function checkName(name: string): void {
  if (name.length > NAME_TOTAL_LENGTH_MAX || !patterns.ANCHORED_NAME.test(name)) {
    throw new AdminError("NAME_INVALID", `invalid repository name ${JSON.stringify(name.slice(0, 300))}`);
  }
}

async function indexPlatforms(store: Store, repository: string, digest: Digest): Promise<string[] | undefined> {
  const row = await store.metadata.manifest(repository, digest);
  if (!row) return undefined;
  try {
    const parsed = parseManifest(row.content, row.mediaType);
    if (parsed.kind !== "index") return undefined;
    return parsed.index.manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []));
  } catch {
    return undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
