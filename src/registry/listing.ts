/**
 * Tag lists and the catalog: sorted, paginated with `n` and `last`, and a
 * `Link: <…>; rel="next"` header when more remain. One row more than asked
 * is fetched to know whether there is a next page.
 */
import { canListReferrers, MediaType, OciError } from "../oci/index.ts";
import { type HandlerContext, digestParam, json } from "./context.ts";

/** The most entries one page returns, whatever `n` asks for. */
export const PAGE_MAX = 10_000;
/** Catalog pages without `n` (distribution's default is 100; catalogs here are small). */
export const CATALOG_DEFAULT = 1000;

function pageSize(url: URL, fallback: number | undefined): number | undefined {
  const n = url.searchParams.get("n");
  if (n === null || n === "") return fallback;
  const value = Number(n);
  if (!/^\d+$/.test(n) || !Number.isSafeInteger(value)) {
    throw new OciError("PAGINATION_NUMBER_INVALID", `invalid page size n=${JSON.stringify(n.slice(0, 50))}: expected a non-negative integer`);
  }
  return Math.min(value, PAGE_MAX);
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

export async function listTags(ctx: HandlerContext, name: string): Promise<Response> {
  const n = pageSize(ctx.url, undefined);
  const last = ctx.url.searchParams.get("last") ?? undefined;
  if (n === 0) {
    await ctx.home.tags(name, { limit: 1 }); // still NAME_UNKNOWN for an unknown repository
    return json({ name, tags: [] });
  }
  const tags = await ctx.home.tags(name, { ...(last ? { last } : {}), ...(n === undefined ? {} : { limit: n + 1 }) });
  if (n !== undefined && tags.length > n) {
    const page = tags.slice(0, n);
    return json({ name, tags: page }, { Link: nextLink(`/v2/${name}/tags/list`, n, page.at(-1)!) });
  }
  return json({ name, tags });
}

export async function listCatalog(ctx: HandlerContext): Promise<Response> {
  const n = pageSize(ctx.url, CATALOG_DEFAULT)!;
  const last = ctx.url.searchParams.get("last") ?? undefined;
  if (n === 0) return json({ repositories: [] });
  const names = await ctx.home.repositories({ ...(last ? { last } : {}), limit: n + 1 });
  if (names.length > n) {
    const page = names.slice(0, n);
    return json({ repositories: page }, { Link: nextLink("/v2/_catalog", n, page.at(-1)!) });
  }
  return json({ repositories: names });
}

export async function listReferrers(ctx: HandlerContext, name: string, digestText: string): Promise<Response> {
  const subject = digestParam(digestText);
  const artifactType = ctx.url.searchParams.get("artifactType") || undefined;
  const manifests = canListReferrers(ctx.home) ? await ctx.home.referrers(name, subject, artifactType) : [];
  return json(
    { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests },
    { "Content-Type": MediaType.ociIndex, ...(artifactType ? { "OCI-Filters-Applied": "artifactType" } : {}) },
  );
}
