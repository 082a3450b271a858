/**
 * fsck: prove a store sound. Every recorded blob is re-hashed (streaming);
 * every manifest's bytes are re-hashed and parsed, and what they reference
 * must be recorded, linked and present; every tag must resolve; the files
 * in the blob driver and the rows must agree; upload sessions must be
 * alive. Each problem says what to do.
 *
 * `repair` fixes what is safe to fix, each under the same locks as gc, so
 * it may run beside `serve`:
 * - recorded references a manifest's bytes name but its rows lack are added;
 * - a recorded blob a manifest uses but its repository lacks a link to is linked;
 * - bytes without a row that hash right and that manifests reference are
 *   recorded again; those nothing references, or that hash wrong, are removed
 *   (only when older than the grace window);
 * - rows of blobs whose bytes are missing or corrupt are forgotten when
 *   nothing references them; a referenced blob is never deleted, only reported;
 * - dangling tags are removed; abandoned uploads are swept.
 */
import { type Digest, DigestHasher, digestOf, isVerifiable, verifiableAlgorithm } from "../../digest/index.ts";
import { manifestReferences, OciError, parseManifest } from "../../oci/index.ts";
import { UNRECORDED_MIN_AGE_MS } from "../gc/gc-options.ts";
import { manifestKey } from "../gc/mark.ts";
import type { Store } from "../store.ts";
import type { FsckProblem, FsckReport } from "./fsck-report.ts";

export interface FsckOptions {
  repair?: boolean;
  /** Bytes without a row younger than this may be a push in flight: left alone (default one hour). */
  graceMs?: number;
  /** Upload sessions idle longer than this are abandoned (default 24 hours, as serve's --upload-ttl). */
  uploadTtlMs?: number;
  /** Blobs hashed at once (default 4). */
  parallel?: number;
  now?: number;
  onProgress?: (event: FsckProgress) => void;
}

export interface FsckProgress {
  phase: "blobs" | "manifests" | "tags" | "files" | "uploads";
  done: number;
  /** Bytes hashed so far (blobs and files). */
  bytes: number;
}

const PAGE = 500;

export async function runFsck(store: Store, options: FsckOptions = {}, signal?: AbortSignal): Promise<FsckReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const repair = options.repair ?? false;
  const sql = store.metadata.maintenance;
  const report: FsckReport = {
    checked: { blobs: 0, bytes: 0, manifests: 0, tags: 0, uploads: 0, files: 0 },
    problems: [],
    repaired: 0,
    interrupted: false,
    durationMs: 0,
  };
  const stopped = () => (report.interrupted ||= signal?.aborted ?? false);
  const problem = (p: Omit<FsckProblem, "repaired">, repaired = false) => {
    report.problems.push({ ...p, repaired });
    if (repaired) report.repaired++;
  };
  let hashed = 0;
  const progress = (phase: FsckProgress["phase"], done: number) => options.onProgress?.({ phase, done, bytes: hashed });
  const usersOf = async (digest: Digest) => (await sql.referencesTo([digest])).map((r) => manifestKey(r.repository, r.manifest));

  // 1. Recorded blobs: bytes present, of their size, hashing to their digest.
  let after = "";
  for (;;) {
    if (stopped()) break;
    const page = await sql.blobs(after, PAGE);
    if (page.length === 0) break;
    after = page.at(-1)!.digest;
    await pool(page, options.parallel ?? 4, async (b) => {
      if (stopped()) return;
      const verdict = await checkBlob(store, b.digest, b.size, (n) => (hashed += n));
      report.checked.blobs++;
      report.checked.bytes += b.size;
      if (verdict === "ok") return;
      if ((await store.metadata.blobSize(b.digest)) === undefined) return; // removed meanwhile (gc)
      const users = await usersOf(b.digest);
      const what = verdict === "missing" ? "its bytes are missing" : verdict;
      if (users.length > 0) {
        problem({
          kind: verdict === "missing" ? "blob-missing" : "blob-corrupt",
          subject: b.digest,
          message: `blob ${b.digest}: ${what}; used by ${listed(users)}`,
          action: "the images using it are broken: restore the blob file from a copy, or delete those images and push them again",
        });
        return;
      }
      const fixed =
        repair &&
        (await sql.forgetBrokenBlob(
          b.digest,
          async () => (verdict === "missing" ? (await store.driver.stat(b.digest)) === undefined : true),
          () => store.driver.delete(b.digest),
        ));
      problem(
        {
          kind: verdict === "missing" ? "blob-missing" : "blob-corrupt",
          subject: b.digest,
          message: `blob ${b.digest}: ${what}; no manifest uses it`,
          action: fixed ? "forgotten (and its bytes removed)" : "run fsck --repair to forget it",
        },
        fixed,
      );
    });
    progress("blobs", report.checked.blobs);
    if (page.length < PAGE) break;
  }

  // 2. Manifests: bytes, parse, references recorded, blobs and children there.
  const incomplete: { repository: string; manifest: Digest; digest: Digest }[] = [];
  for await (const m of store.allManifests()) {
    if (stopped()) break;
    report.checked.manifests++;
    const subject = `${m.repository}@${m.digest}`;
    const stored = await store.metadata.manifest(m.repository, m.digest);
    if (!stored) continue; // deleted meanwhile
    let refs;
    try {
      if (!isVerifiable(m.digest) || digestOf(stored.content, verifiableAlgorithm(m.digest)) !== m.digest) throw new Error("its bytes do not hash to its digest");
      refs = manifestReferences(parseManifest(stored.content, stored.mediaType));
    } catch (error) {
      problem({
        kind: "manifest-corrupt",
        subject,
        message: `manifest ${subject}: ${error instanceof OciError || error instanceof Error ? error.message : String(error)}`,
        action: "delete it and push the image again",
      });
      continue;
    }
    const blobs = refs.blobs.map((d) => d.digest);
    const children = refs.manifests.map((d) => d.digest);
    const recordedRefs = new Set(await sql.referencesFrom(m.repository, m.digest));
    const lacking = [...new Set([...blobs, ...children])].filter((d) => !recordedRefs.has(d));
    if (lacking.length > 0) {
      if (repair) await sql.addReferences(m.repository, m.digest, lacking);
      problem(
        {
          kind: "references-missing",
          subject,
          message: `manifest ${subject}: ${lacking.length} of its references are not recorded (gc would not protect them)`,
          action: repair ? "recorded" : "run fsck --repair to record them",
        },
        repair,
      );
    }
    const recorded = await sql.recordedBlobs(blobs);
    const linked = await sql.linkedBlobs(m.repository, blobs);
    for (const d of blobs) {
      if (!recorded.has(d)) incomplete.push({ repository: m.repository, manifest: m.digest, digest: d });
      else if (!linked.has(d)) {
        const fixed = repair && (await sql.relinkBlob(m.repository, d));
        problem(
          {
            kind: "link-missing",
            subject,
            message: `manifest ${subject}: blob ${d} is in the store but not linked into ${JSON.stringify(m.repository)}`,
            action: fixed ? "linked" : "run fsck --repair to link it",
          },
          fixed,
        );
      }
    }
    const present = await store.metadata.presentManifests(m.repository, children);
    for (const d of children) if (!present.has(d)) incomplete.push({ repository: m.repository, manifest: m.digest, digest: d });
    if (report.checked.manifests % PAGE === 0) progress("manifests", report.checked.manifests);
  }
  progress("manifests", report.checked.manifests);

  // 3. Files without rows: recorded again when they hash right and a manifest needs them, else debris.
  const before = now - Math.max(options.graceMs ?? 3_600_000, UNRECORDED_MIN_AGE_MS);
  let batch: { digest: Digest; size: number; modified: number }[] = [];
  const flush = async () => {
    const recorded = await sql.recordedBlobs(batch.map((f) => f.digest));
    for (const f of batch) {
      if (recorded.has(f.digest) || f.modified >= before || stopped()) continue;
      const verdict = await checkBlob(store, f.digest, undefined, (n) => (hashed += n));
      const users = await usersOf(f.digest);
      const stillOld = async () => ((await store.driver.stat(f.digest))?.modified ?? Infinity) < before;
      if (verdict === "ok" && users.length > 0) {
        const fixed = repair && (await sql.restoreBlob(f.digest, f.size, stillOld));
        problem(
          {
            kind: "blob-unrecorded",
            subject: f.digest,
            message: `blob ${f.digest} is on disk but not recorded; used by ${listed(users)}`,
            action: fixed ? "recorded again" : "run fsck --repair to record it again",
          },
          fixed,
        );
        continue;
      }
      const fixed = repair && (await sql.deleteUnrecordedBytes(f.digest, stillOld, () => store.driver.delete(f.digest)));
      problem(
        {
          kind: "blob-unrecorded",
          subject: f.digest,
          message: `blob ${f.digest} is on disk but not recorded${verdict === "ok" ? "" : ` (and ${verdict})`}; nothing uses it`,
          action: fixed ? "removed" : "run fsck --repair (or gc) to remove it",
        },
        fixed,
      );
    }
    report.checked.files += batch.length;
    progress("files", report.checked.files);
    batch = [];
  };
  if (!stopped()) {
    for await (const f of store.driver.list()) {
      if (stopped()) break;
      batch.push({ digest: f.digest, size: f.size, modified: f.modified });
      if (batch.length >= PAGE) await flush();
    }
    if (batch.length > 0 && !stopped()) await flush();
  }

  // What manifests lack, after the repairs above (a restored row may have completed them).
  for (const i of incomplete) {
    const subject = manifestKey(i.repository, i.manifest);
    const there =
      (await store.metadata.linkedBlobSize(i.repository, i.digest)) !== undefined ||
      (await store.metadata.presentManifests(i.repository, [i.digest])).has(i.digest);
    problem(
      {
        kind: "manifest-incomplete",
        subject,
        message: `manifest ${subject}: ${i.digest} is not in the repository`,
        action: there ? "recorded again from the bytes on disk" : "push the image again (sync its bundle again)",
      },
      there,
    );
  }

  // 4. Tags resolve.
  if (!stopped()) {
    for await (const t of sql.tags()) {
      if (stopped()) break;
      report.checked.tags++;
      if (await store.metadata.manifestDescriptor(t.repository, t.digest)) continue;
      const fixed = repair && (await sql.deleteDanglingTag(t.repository, t.name));
      problem(
        {
          kind: "tag-dangling",
          subject: `${t.repository}:${t.name}`,
          message: `tag ${t.repository}:${t.name} points at ${t.digest}, which is not in the repository`,
          action: fixed ? "removed" : "push the image again, or run fsck --repair to remove the tag",
        },
        fixed,
      );
    }
    progress("tags", report.checked.tags);
  }

  // 5. Upload sessions: alive, with their bytes.
  if (!stopped()) {
    const ttl = options.uploadTtlMs ?? 86_400_000;
    const sessions = await sql.uploads();
    const owned = new Set(sessions.map((s) => s.id));
    let abandoned = 0;
    for (const s of sessions) {
      report.checked.uploads++;
      const staged = await store.driver.stagedSize(s.id);
      if (s.updated >= now - ttl && staged !== undefined) continue;
      abandoned++;
      problem(
        {
          kind: "upload-abandoned",
          subject: s.id,
          message: `upload ${s.id} to ${JSON.stringify(s.repository)}: ${staged === undefined ? "its bytes are missing" : `idle since ${new Date(s.updated).toISOString()}`}`,
          action: repair ? "removed" : "run fsck --repair to remove it",
        },
        repair,
      );
      if (repair && staged === undefined) await sql.deleteUpload(s.id);
    }
    for await (const staged of store.driver.listStaged()) {
      if (owned.has(staged.id) || staged.modified >= now - ttl) continue;
      abandoned++;
      problem(
        {
          kind: "upload-abandoned",
          subject: staged.id,
          message: `staged bytes ${staged.id} belong to no upload session`,
          action: repair ? "removed" : "run fsck --repair to remove them",
        },
        repair,
      );
    }
    if (repair && abandoned > 0) await store.sweepUploads(ttl, now);
    progress("uploads", report.checked.uploads);
  }

  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** "ok", "missing", or what is wrong with the bytes (their size checked when `size` is given). */
async function checkBlob(store: Store, digest: Digest, size: number | undefined, hashed: (bytes: number) => void): Promise<string> {
  const stat = await store.driver.stat(digest);
  if (!stat) return "missing";
  if (!isVerifiable(digest)) return "ok";
  const hasher = new DigestHasher(verifiableAlgorithm(digest));
  try {
    for await (const chunk of store.driver.open(digest, stat.size).stream()) {
      hasher.update(chunk);
      hashed(chunk.byteLength);
    }
  } catch (error) {
    if ((await store.driver.stat(digest)) === undefined) return "missing";
    return `its bytes cannot be read: ${(error as Error).message}`;
  }
  if (size !== undefined && stat.size !== size) return `its bytes are ${stat.size} long, recorded ${size}`;
  const actual = hasher.digest();
  return actual === digest ? "ok" : `its bytes hash to ${actual}`;
}

function listed(keys: string[]): string {
  const unique = [...new Set(keys)];
  return unique.length <= 3 ? unique.join(", ") : `${unique.slice(0, 3).join(", ")} and ${unique.length - 3} more`;
}

/** Run `fn` over `items`, at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
