/**
 * gc: the original `CleanRegistry(dir, requiredImages)`, safe to run while
 * clients push. Mark from a snapshot of the metadata (mark.ts), then sweep
 * in dependency order: tags, manifests (an index before its children),
 * blobs no remaining manifest references (across all repositories), bytes
 * no row records, and repositories left empty. Every delete re-checks its
 * condition under lock (maintenance-sql.ts, sql-locks.ts), so what a
 * client pushed, tagged or linked since the snapshot, or within the grace
 * window, stays.
 *
 * The same call serves `stevedore gc` on a store directory and the admin
 * API inside `serve`. Last-pull times are what the metadata holds: a
 * caller that buffers pulls (serve) flushes them first.
 */
import type { Digest } from "../../digest/index.ts";
import type { ManifestRecord, TagRecord } from "../maintenance-sql.ts";
import type { Store } from "../store.ts";
import { GcError } from "./gc-error.ts";
import { DEFAULT_GRACE_MS, type GcOptions, type GcPhase, UNRECORDED_MIN_AGE_MS } from "./gc-options.ts";
import type { GcReport } from "./gc-report.ts";
import { buildGraph, type GcGraph, type GcPlan, manifestKey, planGc } from "./mark.ts";
import { type Paced, paced, unpaced } from "./paced.ts";

const PAGE = 500;

export async function runGc(store: Store, options: GcOptions = {}, signal?: AbortSignal): Promise<GcReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const cutoff = now - (options.graceMs ?? DEFAULT_GRACE_MS);
  const dryRun = options.dryRun ?? false;
  const progress = (phase: GcPhase, done: number, total?: number) =>
    options.onProgress?.({ phase, done, ...(total !== undefined ? { total } : {}) });
  const report: GcReport = {
    dryRun,
    interrupted: false,
    tags: [],
    manifests: [],
    links: 0,
    blobs: { count: 0, bytes: 0, digests: [] },
    unrecorded: { count: 0, bytes: 0 },
    repositories: [],
    bytesFreed: 0,
    kept: { tags: 0, manifests: 0, blobs: 0 },
    skipped: { tags: 0, manifests: 0, blobs: 0 },
    warnings: [],
    durationMs: 0,
  };
  const stopped = () => {
    if (signal?.aborted) report.interrupted = true;
    return report.interrupted;
  };
  const write = options.pace === false ? unpaced : paced;

  progress("mark", 0);
  const graph = await loadGraph(store);
  const plan = planGc(graph, {
    ...(options.keep ? { keep: options.keep } : {}),
    ...(options.retention ? { retention: options.retention } : {}),
    deleteUntagged: options.deleteUntagged ?? false,
    cutoff,
    now,
  });
  report.warnings.push(...plan.warnings);
  if (options.keep && plan.matched === 0 && (graph.tags.length > 0 || graph.manifests.size > 0) && !options.force) {
    const what = options.keep.length === 0 ? "The keep lists name no image" : `None of the ${options.keep.length} images the keep lists name is in the store`;
    throw new GcError(`${what}, so every image would be removed; nothing was removed (force the run to remove every image)`);
  }
  report.kept.tags = plan.keptTags;
  report.kept.manifests = plan.keptManifests;
  progress("mark", graph.tags.length + graph.manifests.size, graph.tags.length + graph.manifests.size);

  if (!stopped()) await sweepTags(store, write, plan.tags, dryRun, report, stopped, (n) => progress("tags", n, plan.tags.length));
  const removed = new Set<string>();
  if (!stopped()) {
    await sweepManifests(store, write, plan.manifests, cutoff, dryRun, report, removed, stopped, (n) => progress("manifests", n, plan.manifests.length));
  }
  if (!stopped()) await sweepLinks(store, write, dryRun ? removed : undefined, cutoff, dryRun, report, stopped, (n) => progress("links", n));
  if (!stopped()) await sweepBlobs(store, write, dryRun ? removed : undefined, cutoff, dryRun, report, stopped, (n) => progress("blobs", n));
  if (!stopped()) await sweepUnrecorded(store, write, Math.min(cutoff, now - UNRECORDED_MIN_AGE_MS), dryRun, report, stopped, (n) => progress("files", n));
  if (!stopped()) {
    if (dryRun) report.repositories = plan.emptied;
    else {
      for (const name of await store.metadata.maintenance.emptyRepositories()) {
        if (stopped()) break;
        if (await write(() => store.metadata.maintenance.deleteRepositoryIfEmpty(name))) report.repositories.push(name);
      }
    }
    progress("repositories", report.repositories.length);
  }
  report.bytesFreed = report.blobs.bytes + report.unrecorded.bytes;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function loadGraph(store: Store): Promise<GcGraph> {
  const sql = store.metadata.maintenance;
  const tags: TagRecord[] = [];
  for await (const t of sql.tags()) tags.push(t);
  const manifests: ManifestRecord[] = [];
  for await (const m of sql.manifests()) manifests.push(m);
  const edges = [];
  for await (const e of sql.childEdges()) edges.push(e);
  return buildGraph(tags, manifests, edges, await sql.pulls());
}

async function sweepTags(
  store: Store,
  write: Paced,
  tags: GcPlan["tags"],
  dryRun: boolean,
  report: GcReport,
  stopped: () => boolean,
  progress: (done: number) => void,
): Promise<void> {
  let done = 0;
  for (const t of tags) {
    if (stopped()) return;
    if (dryRun || (await write(() => store.metadata.maintenance.deleteTagIf(t)))) report.tags.push({ repository: t.repository, tag: t.name, digest: t.digest });
    else {
      report.skipped.tags++;
      report.kept.tags++;
    }
    if (++done % PAGE === 0) progress(done);
  }
  progress(done);
}

async function sweepManifests(
  store: Store,
  write: Paced,
  manifests: ManifestRecord[],
  cutoff: number,
  dryRun: boolean,
  report: GcReport,
  removed: Set<string>,
  stopped: () => boolean,
  progress: (done: number) => void,
): Promise<void> {
  let done = 0;
  for (const m of manifests) {
    if (stopped()) return;
    if (dryRun || (await write(() => store.metadata.maintenance.deleteManifestIf(m.repository, m.digest, cutoff)))) {
      removed.add(manifestKey(m.repository, m.digest));
      report.manifests.push({ repository: m.repository, digest: m.digest, mediaType: m.mediaType, size: m.size });
    } else {
      // Tagged, referenced or pushed again meanwhile (or a parent that was): it stays.
      report.skipped.manifests++;
      report.kept.manifests++;
    }
    if (++done % PAGE === 0) progress(done);
  }
  progress(done);
}

/**
 * Links of a repository to blobs none of its remaining manifests
 * references (what was pushed for removed images): the blobs stop being
 * readable there, and a repository left with nothing can go.
 */
async function sweepLinks(
  store: Store,
  write: Paced,
  removed: Set<string> | undefined,
  cutoff: number,
  dryRun: boolean,
  report: GcReport,
  stopped: () => boolean,
  progress: (done: number) => void,
): Promise<void> {
  const sql = store.metadata.maintenance;
  let after = { repository: "", digest: "" };
  let done = 0;
  for (;;) {
    if (stopped()) return;
    const page = await sql.links(after, cutoff, PAGE);
    if (page.length === 0) break;
    after = page.at(-1)!;
    const users = new Set<string>();
    for (const r of await sql.referencesTo([...new Set(page.map((l) => l.digest))])) {
      if (!removed?.has(manifestKey(r.repository, r.manifest))) users.add(manifestKey(r.repository, r.digest));
    }
    for (const link of page) {
      if (stopped()) return;
      if (users.has(manifestKey(link.repository, link.digest))) continue;
      if (dryRun || (await write(() => sql.unlinkIfUnused(link.repository, link.digest, cutoff)))) report.links++;
    }
    done += page.length;
    progress(done);
    if (page.length < PAGE) break;
  }
}

/**
 * Blobs no remaining manifest references. A dry run counts the manifests
 * it would have removed (`removed`) as gone; a real run finds them gone.
 */
async function sweepBlobs(
  store: Store,
  write: Paced,
  removed: Set<string> | undefined,
  cutoff: number,
  dryRun: boolean,
  report: GcReport,
  stopped: () => boolean,
  progress: (done: number) => void,
): Promise<void> {
  const sql = store.metadata.maintenance;
  let after = "";
  let done = 0;
  for (;;) {
    if (stopped()) return;
    const page = await sql.blobs(after, PAGE);
    if (page.length === 0) break;
    after = page.at(-1)!.digest;
    const users = new Map<Digest, string[]>();
    for (const r of await sql.referencesTo(page.map((b) => b.digest))) {
      const list = users.get(r.digest) ?? [];
      list.push(manifestKey(r.repository, r.manifest));
      users.set(r.digest, list);
    }
    for (const b of page) {
      if (stopped()) return;
      done++;
      const referenced = (users.get(b.digest) ?? []).some((key) => !removed?.has(key));
      if (referenced || b.created >= cutoff || (b.linked ?? -Infinity) >= cutoff) {
        report.kept.blobs++;
        continue;
      }
      const size = dryRun ? b.size : await write(() => store.metadata.forgetBlob(b.digest, cutoff, () => store.driver.delete(b.digest)));
      if (size === undefined) {
        report.skipped.blobs++;
        report.kept.blobs++;
        continue;
      }
      report.blobs.count++;
      report.blobs.bytes += size;
      report.blobs.digests.push(b.digest);
    }
    progress(done);
    if (page.length < PAGE) break;
  }
}

/** Bytes in the driver that no row records and that are older than `before`: debris of crashes. */
async function sweepUnrecorded(
  store: Store,
  write: Paced,
  before: number,
  dryRun: boolean,
  report: GcReport,
  stopped: () => boolean,
  progress: (done: number) => void,
): Promise<void> {
  const sql = store.metadata.maintenance;
  let batch: { digest: Digest; size: number }[] = [];
  let done = 0;
  const flush = async () => {
    const recorded = await sql.recordedBlobs(batch.map((f) => f.digest));
    for (const f of batch) {
      if (recorded.has(f.digest) || stopped()) continue;
      const gone =
        dryRun ||
        (await write(() =>
          sql.deleteUnrecordedBytes(
            f.digest,
            async () => ((await store.driver.stat(f.digest))?.modified ?? Infinity) < before,
            () => store.driver.delete(f.digest),
          ),
        ));
      if (gone) {
        report.unrecorded.count++;
        report.unrecorded.bytes += f.size;
      }
    }
    done += batch.length;
    progress(done);
    batch = [];
  };
  for await (const f of store.driver.list()) {
    if (stopped()) return;
    if (f.modified >= before) continue;
    batch.push({ digest: f.digest, size: f.size });
    if (batch.length >= PAGE) await flush();
  }
  if (batch.length > 0) await flush();
}
