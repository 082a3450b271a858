/**
 * Copy a whole store into another one, whatever drivers either has (files
 * and SQLite into PostgreSQL and S3, and back): `stevedore migrate`.
 *
 * Everything goes through the target's own write path, so it is checked
 * as a push would be: each blob streams from the source through a digest
 * and size check into the target (never held in memory), each manifest is
 * re-hashed and must find its blobs and children in the target before it
 * is stored. Repository links come along (a blob is copied once, then
 * linked into the other repositories that have it), then manifests,
 * children before their index, each with its tags. Push, tag and pull
 * times are carried over, so retention by age means the same afterwards.
 *
 * What the target has already is skipped, so a copy that was interrupted
 * is finished by running it again. Upload sessions in progress are not
 * copied. The source is only read; nothing should write to the target
 * while it fills.
 */
import type { Digest } from "../digest/index.ts";
import type { Store } from "./store.ts";

export type CopyPhase = "blobs" | "manifests" | "times";

export interface CopyProgress {
  phase: CopyPhase;
  done: number;
  bytes: number;
}

export interface CopyStoreOptions {
  /** Blobs copied at once (default 4). */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (progress: CopyProgress) => void;
}

export interface CopyStoreReport {
  blobs: { copied: number; bytes: number; present: number };
  links: number;
  manifests: { copied: number; present: number };
  tags: number;
  repositories: number;
  interrupted: boolean;
  durationMs: number;
}

export class CopyStoreError extends Error {
  override readonly name = "CopyStoreError";
}

const PAGE = 500;

export async function copyStore(source: Store, target: Store, options: CopyStoreOptions = {}): Promise<CopyStoreReport> {
  const started = performance.now();
  const report: CopyStoreReport = {
    blobs: { copied: 0, bytes: 0, present: 0 },
    links: 0,
    manifests: { copied: 0, present: 0 },
    tags: 0,
    repositories: 0,
    interrupted: false,
    durationMs: 0,
  };
  const stopped = () => (report.interrupted ||= options.signal?.aborted ?? false);
  const progress = (phase: CopyPhase, done: number) => options.onProgress?.({ phase, done, bytes: report.blobs.bytes });
  const finish = () => {
    report.durationMs = Math.round(performance.now() - started);
    return report;
  };

  // --- blobs, repository by repository ------------------------------------
  const sizes = new Map<Digest, number>();
  for (let after = ""; ; ) {
    const page = await source.metadata.maintenance.blobs(after, PAGE);
    for (const b of page) sizes.set(b.digest, b.size);
    if (page.length < PAGE) break;
    after = page.at(-1)!.digest;
  }
  /** Per digest: its bytes' copy, resolving with the repository that copy linked it into (none when the target had it). */
  const copying = new Map<Digest, Promise<string | undefined>>();
  const repositories = new Set<string>();
  const running = new Set<Promise<void>>();
  let failure: unknown;
  const parallel = Math.max(1, options.parallel ?? 4);
  let done = 0;

  const copyBytes = async (repository: string, digest: Digest, size: number): Promise<string | undefined> => {
    if ((await target.metadata.blobSize(digest)) !== undefined && (await target.driver.stat(digest))) {
      report.blobs.present++;
      return undefined;
    }
    try {
      await target.putBlob(repository, { digest, size }, source.driver.open(digest, size).stream());
    } catch (error) {
      throw new CopyStoreError(`blob ${digest} of ${repository}: ${(error as Error).message}`);
    }
    report.blobs.copied++;
    report.blobs.bytes += size;
    return repository;
  };

  const copyLink = async (repository: string, digest: Digest, size: number): Promise<void> => {
    if ((await target.statBlob(repository, digest)) === undefined) {
      // One copy of each blob's bytes; the other repositories that have it link to it.
      let bytes = copying.get(digest);
      if (!bytes) {
        bytes = copyBytes(repository, digest, size);
        copying.set(digest, bytes);
      }
      if ((await bytes) !== repository && !(await target.mountBlob(repository, undefined, digest))) {
        throw new CopyStoreError(`blob ${digest} did not arrive in the target`);
      }
    }
    report.links++;
  };

  for (let after = { repository: "", digest: "" }; !stopped(); ) {
    const links = await source.metadata.maintenance.links(after, Number.MAX_SAFE_INTEGER, PAGE);
    for (const link of links) {
      if (stopped() || failure) break;
      const size = sizes.get(link.digest);
      if (size === undefined) continue; // a link to a blob gc is removing
      repositories.add(link.repository);
      while (running.size >= parallel) await Promise.race(running);
      const task: Promise<void> = copyLink(link.repository, link.digest, size)
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => {
          running.delete(task);
          progress("blobs", ++done);
        });
      running.add(task);
    }
    if (failure || links.length < PAGE) break;
    after = { repository: links.at(-1)!.repository, digest: links.at(-1)!.digest };
  }
  await Promise.all(running);
  if (failure) throw failure;
  if (stopped()) return finish();

  // --- manifests, children first, each with its tags ----------------------
  const tagsOf = new Map<string, { name: string; updated: number }[]>();
  for await (const t of source.metadata.maintenance.tags()) {
    const key = `${t.repository}@${t.digest}`;
    tagsOf.set(key, [...(tagsOf.get(key) ?? []), { name: t.name, updated: t.updated }]);
  }
  const children = new Map<string, Digest[]>();
  for await (const e of source.metadata.maintenance.childEdges()) {
    const key = `${e.repository}@${e.parent}`;
    children.set(key, [...(children.get(key) ?? []), e.child]);
  }
  const pending = new Map<string, { repository: string; digest: Digest; created: number }>();
  for await (const m of source.metadata.maintenance.manifests()) {
    pending.set(`${m.repository}@${m.digest}`, { repository: m.repository, digest: m.digest, created: m.created });
    repositories.add(m.repository);
  }
  const times: { repository: string; digest: Digest; created: number; tags: { name: string; updated: number }[] }[] = [];
  done = 0;
  while (pending.size > 0 && !stopped()) {
    const wave = [...pending.entries()].filter(([, m]) => (children.get(`${m.repository}@${m.digest}`) ?? []).every((c) => !pending.has(`${m.repository}@${c}`)));
    if (wave.length === 0) throw new CopyStoreError(`manifests reference each other in a cycle, e.g. ${[...pending.keys()][0]}`);
    for (const [key, m] of wave) {
      if (stopped()) break;
      const tags = tagsOf.get(key) ?? [];
      if ((await target.hasManifest(m.repository, m.digest)) && (await tagged(target, m.repository, m.digest, tags))) {
        report.manifests.present++;
      } else {
        const content = await source.manifest(m.repository, m.digest);
        await target.putManifest(m.repository, m.digest, { bytes: content.bytes, mediaType: content.mediaType }, { tags: tags.map((t) => t.name) });
        report.manifests.copied++;
        report.tags += tags.length;
      }
      times.push({ repository: m.repository, digest: m.digest, created: m.created, tags });
      pending.delete(key);
      progress("manifests", ++done);
    }
  }
  report.repositories = repositories.size;
  if (stopped()) return finish();

  // --- times ----------------------------------------------------------------
  const pulls = await source.metadata.maintenance.pulls();
  await copyTimes(target, times, pulls, (n) => progress("times", n));
  return finish();
}

/** True when every one of `tags` points at `digest` in the target. */
async function tagged(target: Store, repository: string, digest: Digest, tags: { name: string }[]): Promise<boolean> {
  for (const t of tags) {
    if ((await target.metadata.taggedManifestDescriptor(repository, t.name))?.digest !== digest) return false;
  }
  return true;
}

/** Push, tag and pull times as the source had them (the target's write path set them to now). */
async function copyTimes(
  target: Store,
  manifests: { repository: string; digest: Digest; created: number; tags: { name: string; updated: number }[] }[],
  pulls: Map<string, number>,
  onProgress: (done: number) => void,
): Promise<void> {
  const sql = target.metadata.database;
  const batch = 200;
  for (let i = 0; i < manifests.length; i += batch) {
    const slice = manifests.slice(i, i + batch);
    await sql.begin(async (tx) => {
      for (const m of slice) {
        await tx`UPDATE manifests SET created_at = ${m.created} WHERE repository = ${m.repository} AND digest = ${m.digest}`;
        for (const t of m.tags) {
          await tx`UPDATE tags SET updated_at = ${t.updated} WHERE repository = ${m.repository} AND name = ${t.name} AND digest = ${m.digest}`;
        }
        const pulled = pulls.get(`${m.repository}@${m.digest}`);
        if (pulled !== undefined) {
          await tx`INSERT INTO manifest_pulls (repository, digest, pulled_at) VALUES (${m.repository}, ${m.digest}, ${pulled})
                   ON CONFLICT (repository, digest) DO UPDATE SET pulled_at = excluded.pulled_at`;
        }
      }
    });
    onProgress(Math.min(manifests.length, i + batch));
  }
}
