/**
 * All SQL of the store. The same statements run on SQLite (the default, a
 * file in the store root) and PostgreSQL (several processes or nodes on one
 * store): upserts are `ON CONFLICT`, parameters are bound, and numbers
 * read back go through Number() because PostgreSQL returns BIGINT as text.
 */
// Types only: the class is taken from Bun.SQL when a database opens (importing it loads Bun's SQL
// clients at start-up, a few milliseconds every command that never opens a store pays).
import type { SQL } from "bun";
import type { Digest } from "../digest/index.ts";
import { gateSql } from "./gated-sql.ts";
import { MaintenanceSql } from "./maintenance-sql.ts";
import { type Dialect, DIALECTS, migrate } from "./migrations.ts";
import { blobLock, lockNames, manifestLock, repositoryLock } from "./sql-locks.ts";
import { createSqliteFile } from "./sqlite-file.ts";

export interface ManifestRow {
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType?: string;
  subject?: Digest;
  annotations?: Record<string, string>;
}

export interface ManifestWithContent extends ManifestRow {
  content: Uint8Array;
}

export interface UploadRow {
  id: string;
  repository: string;
  size: number;
  created: number;
  updated: number;
}

export interface BlobRow {
  digest: Digest;
  size: number;
  created: number;
}

interface RawManifest {
  digest: string;
  media_type: string;
  size: number | string;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  content?: Uint8Array;
}

export class Metadata {
  private constructor(
    private readonly sql: SQL,
    readonly dialect: Dialect,
  ) {}

  /**
   * Open (creating and migrating) a database: a URL (`sqlite://path`,
   * `postgres://…`) or an SQLite file path (any characters allowed).
   */
  static async open(target: { url: string } | { sqliteFile: string }): Promise<Metadata> {
    // A new file is built whole, aside (sqlite-file.ts); migrating below then finds nothing to do.
    if ("sqliteFile" in target) await createSqliteFile(target.sqliteFile);
    const opened = "url" in target ? new Bun.SQL(target.url) : new Bun.SQL({ adapter: "sqlite", filename: target.sqliteFile });
    const name = (opened.options as { adapter?: string }).adapter === "sqlite" ? "sqlite" : "postgres";
    const dialect = DIALECTS[name];
    // SQLite has one connection, shared by every request: all SQL passes one gate (gated-sql.ts).
    const sql = name === "sqlite" ? gateSql(opened) : opened;
    if (name === "sqlite") {
      // First the wait for a lock another process holds (a gc beside serve), or even the pragmas below fail at once.
      await sql`PRAGMA busy_timeout = 10000`;
      // WAL lets readers run beside the writer; FULL makes each commit durable.
      await sql`PRAGMA journal_mode = WAL`;
      await sql`PRAGMA synchronous = FULL`;
    }
    await migrate(sql, dialect);
    return new Metadata(sql, dialect);
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  /**
   * The database itself, for parts of the store that keep tables of their
   * own (upload leases, object-store staging). On SQLite the gated handle:
   * inside a transaction, use its `tx`.
   */
  get database(): SQL {
    return this.sql;
  }

  /** A write transaction (IMMEDIATE on SQLite, so two processes never deadlock upgrading a read lock). */
  private write<T>(fn: (tx: SQL) => Promise<T>): Promise<T> {
    const run = fn as (tx: SQL) => Promise<T>;
    return (this.dialect.name === "sqlite" ? this.sql.begin("IMMEDIATE", run) : this.sql.begin(run)) as Promise<T>;
  }

  #maintenance?: MaintenanceSql;
  /** The queries of gc and fsck (maintenance-sql.ts). */
  get maintenance(): MaintenanceSql {
    return (this.#maintenance ??= new MaintenanceSql(this.sql, this.dialect, (fn) => this.write(fn)));
  }

  // --- repositories ---------------------------------------------------------

  async repositoryExists(repository: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 AS x FROM repositories WHERE name = ${repository}`;
    return rows.length > 0;
  }

  async repositories(last: string | undefined, limit: number): Promise<string[]> {
    const rows: { name: string }[] = await this.sql`
      SELECT name FROM repositories WHERE name > ${last ?? ""} ORDER BY name LIMIT ${limit}`;
    return rows.map((r) => r.name);
  }

  private async ensureRepository(tx: SQL, repository: string, now: number): Promise<void> {
    // gc removes an empty repository under this lock, exclusive.
    await lockNames(tx, this.dialect, [repositoryLock(repository)], "shared");
    await tx`INSERT INTO repositories (name, created_at) VALUES (${repository}, ${now}) ON CONFLICT (name) DO NOTHING`;
  }

  // --- blobs ----------------------------------------------------------------

  /** The size of a blob linked into `repository`, or undefined. */
  async linkedBlobSize(repository: string, digest: Digest): Promise<number | undefined> {
    const rows: { size: number | string }[] = await this.sql`
      SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
      WHERE rb.repository = ${repository} AND rb.digest = ${digest}`;
    return rows[0] ? Number(rows[0].size) : undefined;
  }

  /** The size of a blob anywhere in the store, or undefined. */
  async blobSize(digest: Digest): Promise<number | undefined> {
    const rows: { size: number | string }[] = await this.sql`SELECT size FROM blobs WHERE digest = ${digest}`;
    return rows[0] ? Number(rows[0].size) : undefined;
  }

  async blobInRepository(repository: string, digest: Digest): Promise<boolean> {
    const rows = await this.sql`SELECT 1 AS x FROM repository_blobs WHERE repository = ${repository} AND digest = ${digest}`;
    return rows.length > 0;
  }

  /**
   * Record a blob whose bytes were just committed and link it into
   * `repository` (finishing upload `uploadId`, if given). Under the blob's
   * lock and only when `present()` finds the bytes: gc deletes bytes only
   * under that lock, so a blob is never recorded while its bytes are being
   * removed. False (nothing written) when the bytes are gone.
   */
  async recordBlob(
    repository: string,
    digest: Digest,
    size: number,
    present: () => Promise<boolean>,
    uploadId?: string,
    now = Date.now(),
  ): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "shared");
      if (!(await present())) return false;
      await this.ensureRepository(tx, repository, now);
      await tx`INSERT INTO blobs (digest, size, created_at) VALUES (${digest}, ${size}, ${now}) ON CONFLICT (digest) DO NOTHING`;
      await this.linkIn(tx, repository, digest, now);
      if (uploadId !== undefined) await tx`DELETE FROM uploads WHERE id = ${uploadId}`;
      return true;
    });
  }

  /**
   * Link a blob the store records already into `repository` (finishing
   * upload `uploadId`, if given), when `present()` finds its bytes; under
   * the blob's lock, as recordBlob. False when the store has no such blob.
   */
  async linkStoredBlob(repository: string, digest: Digest, present: () => Promise<boolean>, uploadId?: string, now = Date.now()): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "shared");
      const rows = await tx`SELECT 1 AS x FROM blobs WHERE digest = ${digest}`;
      if (rows.length === 0 || !(await present())) return false;
      await this.ensureRepository(tx, repository, now);
      await this.linkIn(tx, repository, digest, now);
      if (uploadId !== undefined) await tx`DELETE FROM uploads WHERE id = ${uploadId}`;
      return true;
    });
  }

  /** Link an already recorded blob into `repository`; false when the store has no such blob. */
  async linkExistingBlob(repository: string, digest: Digest, now = Date.now()): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "shared");
      const rows = await tx`SELECT 1 AS x FROM blobs WHERE digest = ${digest}`;
      if (rows.length === 0) return false;
      await this.ensureRepository(tx, repository, now);
      await this.linkIn(tx, repository, digest, now);
      return true;
    });
  }

  /**
   * A link made (or made again) now restarts gc's grace window for the
   * blob: the manifest that needs it is on its way.
   */
  private async linkIn(tx: SQL, repository: string, digest: Digest, now: number): Promise<void> {
    await tx`INSERT INTO repository_blobs (repository, digest, created_at) VALUES (${repository}, ${digest}, ${now})
             ON CONFLICT (repository, digest) DO UPDATE SET created_at = excluded.created_at`;
  }

  async unlinkBlob(repository: string, digest: Digest): Promise<boolean> {
    const result = await this.sql`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${digest}`;
    return result.count > 0;
  }

  /** Of `digests`, those linked into `repository`, with their sizes. */
  async linkedBlobSizes(repository: string, digests: Digest[]): Promise<Map<Digest, number>> {
    const found = new Map<Digest, number>();
    if (digests.length === 0) return found;
    const rows: { digest: Digest; size: number | string }[] = await this.sql`
      SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
      WHERE rb.repository = ${repository} AND rb.digest IN ${this.sql(digests)}`;
    for (const r of rows) found.set(r.digest, Number(r.size));
    return found;
  }

  /** Committed blobs after `after` in digest order (gc, fsck). */
  async listBlobs(after: string | undefined, limit: number): Promise<BlobRow[]> {
    const rows: { digest: Digest; size: number | string; created_at: number | string }[] = await this.sql`
      SELECT digest, size, created_at FROM blobs WHERE digest > ${after ?? ""} ORDER BY digest LIMIT ${limit}`;
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size), created: Number(r.created_at) }));
  }

  /**
   * gc's delete of one blob, under the blob's exclusive lock: when it was
   * recorded before `before`, no manifest references it and no repository
   * linked it since `before`, its links and row go, and `deleteBytes` runs
   * before the lock is released, so no writer can find the bytes in
   * between and record the blob again. Returns the size it had, or
   * undefined when it stays.
   */
  async forgetBlob(digest: Digest, before: number, deleteBytes: () => Promise<void>): Promise<number | undefined> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "exclusive");
      const rows: { size: number | string; created_at: number | string }[] = await tx`
        SELECT size, created_at FROM blobs WHERE digest = ${digest}`;
      if (!rows[0] || Number(rows[0].created_at) >= before) return undefined;
      const refs = await tx`SELECT 1 AS x FROM manifest_references WHERE digest = ${digest} LIMIT 1`;
      if (refs.length > 0) return undefined;
      const fresh = await tx`SELECT 1 AS x FROM repository_blobs WHERE digest = ${digest} AND created_at >= ${before} LIMIT 1`;
      if (fresh.length > 0) return undefined;
      await tx`DELETE FROM repository_blobs WHERE digest = ${digest}`;
      await tx`DELETE FROM blobs WHERE digest = ${digest}`;
      await deleteBytes();
      return Number(rows[0].size);
    });
  }

  // --- manifests and tags ---------------------------------------------------

  async manifest(repository: string, digest: Digest): Promise<ManifestWithContent | undefined> {
    const rows: RawManifest[] = await this.sql`
      SELECT digest, media_type, size, artifact_type, subject, annotations, content
      FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
    return rows[0] ? toManifest(rows[0]) : undefined;
  }

  async taggedManifest(repository: string, tag: string): Promise<ManifestWithContent | undefined> {
    const rows: RawManifest[] = await this.sql`
      SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.content
      FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
      WHERE t.repository = ${repository} AND t.name = ${tag}`;
    return rows[0] ? toManifest(rows[0]) : undefined;
  }

  async manifestDescriptor(repository: string, digest: Digest): Promise<ManifestRow | undefined> {
    const rows: RawManifest[] = await this.sql`
      SELECT digest, media_type, size, artifact_type, subject, annotations
      FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
    return rows[0] ? toManifest(rows[0]) : undefined;
  }

  async taggedManifestDescriptor(repository: string, tag: string): Promise<ManifestRow | undefined> {
    const rows: RawManifest[] = await this.sql`
      SELECT m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations
      FROM tags t JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
      WHERE t.repository = ${repository} AND t.name = ${tag}`;
    return rows[0] ? toManifest(rows[0]) : undefined;
  }

  /** Of `digests`, those stored as manifests in `repository`. */
  async presentManifests(repository: string, digests: Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    const rows: { digest: Digest }[] = await this.sql`
      SELECT digest FROM manifests WHERE repository = ${repository} AND digest IN ${this.sql(digests)}`;
    return new Set(rows.map((r) => r.digest));
  }

  /**
   * Store a manifest, what it references and its tags, in one transaction:
   * either all of it is visible or none. The blobs (linked into the
   * repository) and child manifests it needs are checked again inside the
   * transaction, under their locks, since gc may have removed one after
   * the caller looked: those missing are returned, and nothing is written.
   */
  async putManifest(
    repository: string,
    manifest: ManifestWithContent,
    references: { blobs: Digest[]; manifests: Digest[] },
    tags: string[],
    now = Date.now(),
  ): Promise<Digest[]> {
    const blobs = [...new Set(references.blobs)];
    const children = [...new Set(references.manifests)];
    return this.write(async (tx) => {
      await lockNames(
        tx,
        this.dialect,
        [manifestLock(repository, manifest.digest), ...blobs.map(blobLock), ...children.map((d) => manifestLock(repository, d))],
        "shared",
      );
      const linked: { digest: Digest }[] =
        blobs.length === 0
          ? []
          : await tx`SELECT rb.digest FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                     WHERE rb.repository = ${repository} AND rb.digest IN ${tx(blobs)}`;
      const present: { digest: Digest }[] =
        children.length === 0
          ? []
          : await tx`SELECT digest FROM manifests WHERE repository = ${repository} AND digest IN ${tx(children)}`;
      const found = new Set([...linked, ...present].map((r) => r.digest));
      const missing = [...blobs, ...children].filter((d) => !found.has(d));
      if (missing.length > 0) return missing;
      await this.ensureRepository(tx, repository, now);
      const annotations = manifest.annotations ? JSON.stringify(manifest.annotations) : null;
      // Pushed again: the time moves, so gc's grace window covers a re-push of what it was about to remove.
      await tx`
        INSERT INTO manifests (repository, digest, media_type, size, artifact_type, subject, annotations, content, created_at)
        VALUES (${repository}, ${manifest.digest}, ${manifest.mediaType}, ${manifest.size}, ${manifest.artifactType ?? null},
                ${manifest.subject ?? null}, ${annotations}, ${manifest.content}, ${now})
        ON CONFLICT (repository, digest) DO UPDATE SET media_type = excluded.media_type, created_at = excluded.created_at`;
      for (const digest of new Set([...blobs, ...children])) {
        await tx`INSERT INTO manifest_references (repository, manifest, digest) VALUES (${repository}, ${manifest.digest}, ${digest})
                 ON CONFLICT (repository, manifest, digest) DO NOTHING`;
      }
      for (const tag of tags) {
        await tx`INSERT INTO tags (repository, name, digest, updated_at) VALUES (${repository}, ${tag}, ${manifest.digest}, ${now})
                 ON CONFLICT (repository, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`;
      }
      return [];
    });
  }

  /** Delete a manifest and every tag pointing at it. False when there was none. */
  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return this.write(async (tx) => {
      const result = await tx`DELETE FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
      if (result.count === 0) return false;
      await tx`DELETE FROM tags WHERE repository = ${repository} AND digest = ${digest}`;
      await tx`DELETE FROM manifest_references WHERE repository = ${repository} AND manifest = ${digest}`;
      await tx`DELETE FROM manifest_pulls WHERE repository = ${repository} AND digest = ${digest}`;
      return true;
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM tags WHERE repository = ${repository} AND name = ${tag}`;
    return result.count > 0;
  }

  async tags(repository: string, last: string | undefined, limit: number): Promise<string[]> {
    const rows: { name: string }[] = await this.sql`
      SELECT name FROM tags WHERE repository = ${repository} AND name > ${last ?? ""} ORDER BY name LIMIT ${limit}`;
    return rows.map((r) => r.name);
  }

  async referrers(repository: string, subject: Digest, artifactType?: string): Promise<ManifestRow[]> {
    const rows: RawManifest[] =
      artifactType === undefined
        ? await this.sql`
            SELECT digest, media_type, size, artifact_type, subject, annotations FROM manifests
            WHERE repository = ${repository} AND subject = ${subject} ORDER BY digest`
        : await this.sql`
            SELECT digest, media_type, size, artifact_type, subject, annotations FROM manifests
            WHERE repository = ${repository} AND subject = ${subject} AND artifact_type = ${artifactType} ORDER BY digest`;
    return rows.map(toManifest);
  }

  /** Manifests after (repository, digest) in that order, without their bytes (gc, fsck). */
  async listManifests(
    after: { repository: string; digest: string } | undefined,
    limit: number,
  ): Promise<(ManifestRow & { repository: string })[]> {
    const a = after ?? { repository: "", digest: "" };
    const rows: (RawManifest & { repository: string })[] = await this.sql`
      SELECT repository, digest, media_type, size, artifact_type, subject, annotations FROM manifests
      WHERE repository > ${a.repository} OR (repository = ${a.repository} AND digest > ${a.digest})
      ORDER BY repository, digest LIMIT ${limit}`;
    return rows.map((r) => ({ repository: r.repository, ...toManifest(r) }));
  }

  // --- uploads --------------------------------------------------------------

  async createUpload(id: string, repository: string, now = Date.now()): Promise<void> {
    await this.sql`INSERT INTO uploads (id, repository, size, created_at, updated_at) VALUES (${id}, ${repository}, 0, ${now}, ${now})`;
  }

  async upload(id: string): Promise<UploadRow | undefined> {
    const rows: { id: string; repository: string; size: number | string; created_at: number | string; updated_at: number | string }[] =
      await this.sql`SELECT id, repository, size, created_at, updated_at FROM uploads WHERE id = ${id}`;
    const r = rows[0];
    return r && { id: r.id, repository: r.repository, size: Number(r.size), created: Number(r.created_at), updated: Number(r.updated_at) };
  }

  /** Move an upload from `from` to `to` bytes; false when another writer moved it first. */
  async advanceUpload(id: string, from: number, to: number, now = Date.now()): Promise<boolean> {
    const result = await this.sql`UPDATE uploads SET size = ${to}, updated_at = ${now} WHERE id = ${id} AND size = ${from}`;
    return result.count > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM uploads WHERE id = ${id}`;
    return result.count > 0;
  }

  /** Uploads not touched since `before`. */
  async staleUploads(before: number): Promise<string[]> {
    const rows: { id: string }[] = await this.sql`SELECT id FROM uploads WHERE updated_at < ${before}`;
    return rows.map((r) => r.id);
  }

  async uploadExists(id: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 AS x FROM uploads WHERE id = ${id}`;
    return rows.length > 0;
  }

  // --- pulls ----------------------------------------------------------------

  /** Record manifest pulls; a time only ever moves forward. */
  async recordPulls(pulls: { repository: string; digest: Digest; at: number }[]): Promise<void> {
    if (pulls.length === 0) return;
    await this.write(async (tx) => {
      for (const p of pulls) {
        await tx`INSERT INTO manifest_pulls (repository, digest, pulled_at) VALUES (${p.repository}, ${p.digest}, ${p.at})
                 ON CONFLICT (repository, digest) DO UPDATE SET pulled_at = excluded.pulled_at
                 WHERE excluded.pulled_at > manifest_pulls.pulled_at`;
      }
    });
  }

  // --- inventory (admin API, metrics) -----------------------------------------

  /**
   * Every repository with its tag and manifest counts, its size (distinct
   * blobs its manifests reference, plus the manifests) and its last push.
   */
  async repositorySummaries(last: string | undefined, limit: number): Promise<RepositorySummary[]> {
    const rows: Record<string, string | number | null>[] = await this.sql`
      SELECT r.name,
        (SELECT COUNT(*) FROM tags t WHERE t.repository = r.name) AS tags,
        (SELECT COUNT(*) FROM manifests m WHERE m.repository = r.name) AS manifests,
        (SELECT SUM(b.size) FROM blobs b
          WHERE b.digest IN (SELECT mr.digest FROM manifest_references mr WHERE mr.repository = r.name)) AS blob_bytes,
        (SELECT SUM(m.size) FROM manifests m WHERE m.repository = r.name) AS manifest_bytes,
        (SELECT MAX(t.updated_at) FROM tags t WHERE t.repository = r.name) AS last_tag,
        (SELECT MAX(m.created_at) FROM manifests m WHERE m.repository = r.name) AS last_manifest
      FROM repositories r WHERE r.name > ${last ?? ""} ORDER BY r.name LIMIT ${limit}`;
    return rows.map((r) => {
      const pushed = Math.max(Number(r.last_tag ?? 0), Number(r.last_manifest ?? 0));
      return {
        name: String(r.name),
        tags: Number(r.tags),
        manifests: Number(r.manifests),
        size: Number(r.blob_bytes ?? 0) + Number(r.manifest_bytes ?? 0),
        ...(pushed > 0 ? { lastPush: pushed } : {}),
      };
    });
  }

  /**
   * The tags of a repository with what they point at: the size is every
   * distinct blob and manifest the tag reaches (through an index, its
   * children), counted once.
   */
  async tagDetails(repository: string): Promise<TagDetail[]> {
    const sizes: { tag: string; size: number | string | null }[] = await this.sql`
      WITH RECURSIVE reach(tag, digest) AS (
        SELECT name, digest FROM tags WHERE repository = ${repository}
        UNION
        SELECT r.tag, mr.digest FROM reach r
          JOIN manifest_references mr ON mr.repository = ${repository} AND mr.manifest = r.digest
      )
      SELECT r.tag, SUM(COALESCE(b.size, m.size, 0)) AS size FROM reach r
        LEFT JOIN blobs b ON b.digest = r.digest
        LEFT JOIN manifests m ON m.repository = ${repository} AND m.digest = r.digest
      GROUP BY r.tag`;
    const sizeOf = new Map(sizes.map((s) => [s.tag, Number(s.size ?? 0)]));
    const rows: { name: string; digest: Digest; updated_at: number | string; media_type: string; pulled_at: number | string | null }[] =
      await this.sql`
        SELECT t.name, t.digest, t.updated_at, m.media_type, p.pulled_at FROM tags t
          JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
          LEFT JOIN manifest_pulls p ON p.repository = t.repository AND p.digest = t.digest
        WHERE t.repository = ${repository} ORDER BY t.name`;
    return rows.map((r) => ({
      tag: r.name,
      digest: r.digest,
      mediaType: r.media_type,
      size: sizeOf.get(r.name) ?? 0,
      pushed: Number(r.updated_at),
      ...(r.pulled_at !== null ? { lastPulled: Number(r.pulled_at) } : {}),
    }));
  }

  /**
   * What the store holds: blobs and manifests in total, and per repository
   * the blob bytes its manifests reference, split into bytes no other
   * repository references (unique) and bytes shared with others.
   */
  async usage(): Promise<UsageReport> {
    const [blobs]: { n: number | string; bytes: number | string | null }[] = await this.sql`
      SELECT COUNT(*) AS n, SUM(size) AS bytes FROM blobs`;
    const [manifests]: { n: number | string; bytes: number | string | null }[] = await this.sql`
      SELECT COUNT(*) AS n, SUM(size) AS bytes FROM manifests`;
    const [unreferenced]: { n: number | string; bytes: number | string | null }[] = await this.sql`
      SELECT COUNT(*) AS n, SUM(b.size) AS bytes FROM blobs b
      WHERE NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = b.digest)`;
    const perRepository: { repository: string; blobs: number | string; bytes: number | string; unique_bytes: number | string }[] =
      await this.sql`
        WITH refs AS (
          SELECT DISTINCT mr.repository, mr.digest FROM manifest_references mr JOIN blobs b ON b.digest = mr.digest
        ), owners AS (
          SELECT digest, COUNT(*) AS n FROM refs GROUP BY digest
        )
        SELECT refs.repository, COUNT(*) AS blobs, SUM(b.size) AS bytes,
               SUM(CASE WHEN o.n = 1 THEN b.size ELSE 0 END) AS unique_bytes
        FROM refs JOIN owners o ON o.digest = refs.digest JOIN blobs b ON b.digest = refs.digest
        GROUP BY refs.repository ORDER BY refs.repository`;
    const [shared]: { n: number | string; bytes: number | string | null }[] = await this.sql`
      SELECT COUNT(*) AS n, SUM(b.size) AS bytes FROM blobs b
      WHERE (SELECT COUNT(DISTINCT mr.repository) FROM manifest_references mr WHERE mr.digest = b.digest) > 1`;
    const repositories = perRepository.map((r) => ({
      name: r.repository,
      blobs: Number(r.blobs),
      bytes: Number(r.bytes),
      uniqueBytes: Number(r.unique_bytes),
      sharedBytes: Number(r.bytes) - Number(r.unique_bytes),
    }));
    return {
      blobs: { count: Number(blobs!.n), bytes: Number(blobs!.bytes ?? 0) },
      manifests: { count: Number(manifests!.n), bytes: Number(manifests!.bytes ?? 0) },
      shared: { count: Number(shared!.n), bytes: Number(shared!.bytes ?? 0) },
      unreferenced: { count: Number(unreferenced!.n), bytes: Number(unreferenced!.bytes ?? 0) },
      logicalBytes: repositories.reduce((sum, r) => sum + r.bytes, 0),
      repositories,
    };
  }

  /** Counts for metrics: cheap enough to run on every scrape. */
  async totals(): Promise<{ blobs: number; blobBytes: number; manifests: number; repositories: number; uploads: number }> {
    const [b]: { n: number | string; bytes: number | string | null }[] = await this.sql`SELECT COUNT(*) AS n, SUM(size) AS bytes FROM blobs`;
    const [m]: { n: number | string }[] = await this.sql`SELECT COUNT(*) AS n FROM manifests`;
    const [r]: { n: number | string }[] = await this.sql`SELECT COUNT(*) AS n FROM repositories`;
    return {
      blobs: Number(b!.n),
      blobBytes: Number(b!.bytes ?? 0),
      manifests: Number(m!.n),
      repositories: Number(r!.n),
      uploads: await this.uploadCount(),
    };
  }

  /** Upload sessions open now. */
  async uploadCount(): Promise<number> {
    const [row]: { n: number | string }[] = await this.sql`SELECT COUNT(*) AS n FROM uploads`;
    return Number(row!.n);
  }

  /** True when the database answers (readiness). */
  async ping(): Promise<boolean> {
    const rows = await this.sql`SELECT 1 AS x`;
    return rows.length === 1;
  }
}

export interface RepositorySummary {
  name: string;
  tags: number;
  manifests: number;
  /** Bytes of the distinct blobs and the manifests the repository holds. */
  size: number;
  /** Milliseconds since the epoch of the latest manifest or tag push. */
  lastPush?: number;
}

export interface TagDetail {
  tag: string;
  digest: Digest;
  mediaType: string;
  /** Every distinct blob and manifest the tag reaches. */
  size: number;
  /** When the tag was last set (ms since the epoch). */
  pushed: number;
  /** When its manifest was last pulled, if ever recorded. */
  lastPulled?: number;
}

export interface UsageReport {
  blobs: { count: number; bytes: number };
  manifests: { count: number; bytes: number };
  /** Blobs referenced by more than one repository. */
  shared: { count: number; bytes: number };
  /** Blobs no manifest references (what gc may sweep after the grace window). */
  unreferenced: { count: number; bytes: number };
  /** The sum of the repositories' bytes: what the store would hold without de-duplication. */
  logicalBytes: number;
  repositories: { name: string; blobs: number; bytes: number; uniqueBytes: number; sharedBytes: number }[];
}

function toManifest(r: RawManifest): ManifestWithContent {
  return {
    digest: r.digest as Digest,
    mediaType: r.media_type,
    size: Number(r.size),
    ...(r.artifact_type ? { artifactType: r.artifact_type } : {}),
    ...(r.subject ? { subject: r.subject as Digest } : {}),
    ...(r.annotations ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
    content: r.content ?? new Uint8Array(0),
  };
}
