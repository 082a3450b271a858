/** Catalog and tag pagination as the distribution API defines it: sorted, after `last`, at most `limit`. */
import type { ListOptions } from "../oci/index.ts";

export function listPage(names: Iterable<string>, { last, limit }: ListOptions = {}): string[] {
  const sorted = [...new Set(names)].sort().filter((n) => last === undefined || n > last);
  return limit === undefined ? sorted : sorted.slice(0, Math.max(0, limit));
}

/** Every name, paging through a lister that may cap its pages. */
export async function listAll(list: (options: ListOptions) => Promise<string[]>, pageSize = 1000): Promise<string[]> {
  const out: string[] = [];
  let last: string | undefined;
  for (;;) {
    const page = await list(last === undefined ? { limit: pageSize } : { last, limit: pageSize });
    const fresh = last === undefined ? page : page.filter((n) => n > last!);
    out.push(...fresh);
    if (fresh.length === 0 || page.length < pageSize) return out;
    last = fresh[fresh.length - 1];
  }
}
