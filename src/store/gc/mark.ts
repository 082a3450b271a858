/**
 * The mark phase: from the store's tags and manifest graph, decide which
 * tags and manifests go. A pure function of a snapshot, so it is tested
 * on its own; the sweep then applies it with conditions that re-check
 * each decision against what clients changed since.
 *
 * Tags: with no keep list and no retention rule, every tag stays. With a
 * keep list, a tag stays when a list names it; retention rules keep more
 * (the N most recent, those pushed or pulled within a window); tags set
 * within the grace window always stay.
 *
 * Manifests stay when reachable from a root, through an index's children
 * and through referrers (an artifact whose subject stays, stays too).
 * Roots: what the kept tags point at, manifests a keep list names by
 * digest, manifests pushed within the grace window, and, unless
 * `deleteUntagged`, the untagged ones: manifests no tag reached even
 * before this run (pushed by digest only). So a manifest only the removed
 * tags reached goes with them, and one pushed by digest stays unless asked.
 */
import type { Digest } from "../../digest/index.ts";
import type { ChildEdge, ManifestRecord, TagRecord } from "../maintenance-sql.ts";
import type { KeepEntry, RetentionRules } from "./gc-options.ts";

export const manifestKey = (repository: string, digest: string): string => `${repository}@${digest}`;
const tagKey = (repository: string, name: string): string => `${repository}:${name}`;

export interface GcGraph {
  tags: TagRecord[];
  manifests: Map<string, ManifestRecord>;
  /** Child manifest digests by parent key. */
  children: Map<string, Digest[]>;
  /** Referrer digests by subject key. */
  referrers: Map<string, Digest[]>;
  /** Last pull time by manifest key. */
  pulls: Map<string, number>;
}

export function buildGraph(tags: TagRecord[], manifests: ManifestRecord[], edges: ChildEdge[], pulls: Map<string, number>): GcGraph {
  const graph: GcGraph = { tags, manifests: new Map(), children: new Map(), referrers: new Map(), pulls };
  for (const m of manifests) {
    graph.manifests.set(manifestKey(m.repository, m.digest), m);
    if (m.subject) push(graph.referrers, manifestKey(m.repository, m.subject), m.digest);
  }
  for (const e of edges) push(graph.children, manifestKey(e.repository, e.parent), e.child);
  return graph;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export interface MarkPolicy {
  keep?: KeepEntry[];
  retention?: RetentionRules;
  deleteUntagged: boolean;
  /** Tags set and manifests pushed at or after this instant stay. */
  cutoff: number;
  now: number;
}

export interface GcPlan {
  /** Tags to remove. */
  tags: TagRecord[];
  /** Manifests to remove, each before the children it references. */
  manifests: ManifestRecord[];
  keptTags: number;
  keptManifests: number;
  /** Keep entries that matched something in the store. */
  matched: number;
  warnings: string[];
  /** Repositories whose every tag and manifest is removed. */
  emptied: string[];
}

export function planGc(graph: GcGraph, policy: MarkPolicy): GcPlan {
  const warnings: string[] = [];
  const keptTags = new Set<string>();
  const roots = new Set<string>();
  const retention = policy.retention;
  const ruled = retention && (retention.keepRecent !== undefined || retention.keepWithinMs !== undefined);
  const byTag = new Map(graph.tags.map((t) => [tagKey(t.repository, t.name), t]));

  let matched = 0;
  for (const entry of policy.keep ?? []) {
    let hit = false;
    for (const repository of entry.repositories) {
      if (entry.tag !== undefined && byTag.has(tagKey(repository, entry.tag))) {
        keptTags.add(tagKey(repository, entry.tag));
        hit = true;
      }
      if (entry.digest !== undefined && graph.manifests.has(manifestKey(repository, entry.digest))) {
        roots.add(manifestKey(repository, entry.digest));
        hit = true;
      }
    }
    if (hit) matched++;
    else warnings.push(`${entry.origin}: ${entry.name} is not in the store; nothing is kept for it`);
  }

  if (ruled) {
    const pattern = retention.tagPattern;
    const applies = (t: TagRecord) => !pattern || fullMatch(pattern, t.name);
    const byRepository = new Map<string, TagRecord[]>();
    for (const t of graph.tags) {
      if (applies(t)) push(byRepository, t.repository, t);
      else if (!policy.keep) keptTags.add(tagKey(t.repository, t.name));
    }
    const since = retention.keepWithinMs === undefined ? undefined : policy.now - retention.keepWithinMs;
    for (const tags of byRepository.values()) {
      tags.sort((a, b) => b.updated - a.updated || (a.name < b.name ? 1 : -1));
      tags.forEach((t, i) => {
        const recent = retention.keepRecent !== undefined && i < retention.keepRecent;
        const used = since !== undefined && (t.updated >= since || (graph.pulls.get(manifestKey(t.repository, t.digest)) ?? -Infinity) >= since);
        if (recent || used) keptTags.add(tagKey(t.repository, t.name));
      });
    }
  } else if (!policy.keep) {
    for (const t of graph.tags) keptTags.add(tagKey(t.repository, t.name));
  }
  for (const t of graph.tags) if (t.updated >= policy.cutoff) keptTags.add(tagKey(t.repository, t.name));

  const removedTags = graph.tags.filter((t) => !keptTags.has(tagKey(t.repository, t.name)));

  // Manifests: what the tags reached before this run, and what the roots reach now.
  const everTagged = reach(graph, graph.tags.map((t) => manifestKey(t.repository, t.digest)));
  for (const t of graph.tags) if (keptTags.has(tagKey(t.repository, t.name))) roots.add(manifestKey(t.repository, t.digest));
  for (const [key, m] of graph.manifests) {
    if (m.created >= policy.cutoff) roots.add(key);
    else if (!policy.deleteUntagged && !everTagged.has(key)) roots.add(key);
  }
  const live = reach(graph, roots);
  const removed = [...graph.manifests.keys()].filter((k) => !live.has(k));

  const emptied = new Set([...graph.manifests.values()].map((m) => m.repository));
  for (const t of graph.tags) if (keptTags.has(tagKey(t.repository, t.name))) emptied.delete(t.repository);
  for (const k of live) emptied.delete(graph.manifests.get(k)!.repository);

  return {
    tags: removedTags,
    manifests: parentsFirst(graph, removed),
    keptTags: graph.tags.length - removedTags.length,
    keptManifests: live.size,
    matched,
    warnings,
    emptied: [...emptied].sort(),
  };
}

/** Manifests reachable from `start` through children and referrers (of stored manifests only). */
function reach(graph: GcGraph, start: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (seen.has(key)) continue;
    const m = graph.manifests.get(key);
    if (!m) continue;
    seen.add(key);
    for (const child of graph.children.get(key) ?? []) stack.push(manifestKey(m.repository, child));
    for (const referrer of graph.referrers.get(key) ?? []) stack.push(manifestKey(m.repository, referrer));
  }
  return seen;
}

/** Order removals so an index goes before its children (a child is removed only once nothing references it). */
function parentsFirst(graph: GcGraph, keys: string[]): ManifestRecord[] {
  const set = new Set(keys);
  const parents = new Map<string, number>();
  for (const key of keys) {
    const m = graph.manifests.get(key)!;
    for (const child of graph.children.get(key) ?? []) {
      const c = manifestKey(m.repository, child);
      if (set.has(c)) parents.set(c, (parents.get(c) ?? 0) + 1);
    }
  }
  const ready = keys.filter((k) => !parents.get(k)).sort();
  const out: ManifestRecord[] = [];
  const done = new Set<string>();
  while (ready.length > 0) {
    const key = ready.shift()!;
    done.add(key);
    const m = graph.manifests.get(key)!;
    out.push(m);
    for (const child of graph.children.get(key) ?? []) {
      const c = manifestKey(m.repository, child);
      if (!set.has(c)) continue;
      const left = parents.get(c)! - 1;
      parents.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  // Content addressing rules out cycles; should one appear, its manifests still go, last.
  for (const key of keys) if (!done.has(key)) out.push(graph.manifests.get(key)!);
  return out;
}

function fullMatch(pattern: RegExp, text: string): boolean {
  return new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, "")).test(text);
}
