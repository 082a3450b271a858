/**
 * The SQL of gc and fsck: whole-store listings (in pages, keyset order)
 * and deletes that re-check their condition inside a transaction, under
 * the locks of sql-locks.ts, so that a decision made from a listing is
 * never applied to something a client changed since.
 */
import type { SQL } from "bun";
import type { Digest } from "../digest/index.ts";
import type { Dialect } from "./migrations.ts";
import { blobLock, lockNames, manifestLock, repositoryLock } from "./sql-locks.ts";

export interface TagRecord {
  repository: string;
  name: string;
  digest: Digest;
  /** When the tag was last set (ms since the epoch). */
  updated: number;
}

export interface ManifestRecord {
  repository: string;
  digest: Digest;
  mediaType: string;
  size: number;
  subject?: Digest;
  /** When it was last pushed (ms since the epoch). */
  created: number;
}

/** A manifest that references another manifest of its repository (an index and its child). */
export interface ChildEdge {
  repository: string;
  parent: Digest;
  child: Digest;
}

export interface BlobRecord {
  digest: Digest;
  size: number;
  created: number;
  /** The latest link of any repository to it, if any. */
  linked?: number;
}

export interface LinkRecord {
  repository: string;
  digest: Digest;
  created: number;
}

export interface ReferenceRecord {
  repository: string;
  manifest: Digest;
  digest: Digest;
}

export interface UploadRecord {
  id: string;
  repository: string;
  size: number;
  updated: number;
}

type Num = number | string;

export class MaintenanceSql {
  constructor(
    private readonly sql: SQL,
    private readonly dialect: Dialect,
    private readonly write: <T>(fn: (tx: SQL) => Promise<T>) => Promise<T>,
  ) {}

  // --- listings -------------------------------------------------------------

  async *tags(pageSize = 1000): AsyncIterable<TagRecord> {
    let a = { repository: "", name: "" };
    for (;;) {
      const rows: { repository: string; name: string; digest: Digest; updated_at: Num }[] = await this.sql`
        SELECT repository, name, digest, updated_at FROM tags
        WHERE repository > ${a.repository} OR (repository = ${a.repository} AND name > ${a.name})
        ORDER BY repository, name LIMIT ${pageSize}`;
      for (const r of rows) yield { repository: r.repository, name: r.name, digest: r.digest, updated: Number(r.updated_at) };
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      a = { repository: last.repository, name: last.name };
    }
  }

  async *manifests(pageSize = 1000): AsyncIterable<ManifestRecord> {
    let a = { repository: "", digest: "" };
    for (;;) {
      const rows: { repository: string; digest: Digest; media_type: string; size: Num; subject: Digest | null; created_at: Num }[] =
        await this.sql`
          SELECT repository, digest, media_type, size, subject, created_at FROM manifests
          WHERE repository > ${a.repository} OR (repository = ${a.repository} AND digest > ${a.digest})
          ORDER BY repository, digest LIMIT ${pageSize}`;
      for (const r of rows) {
        yield {
          repository: r.repository,
          digest: r.digest,
          mediaType: r.media_type,
          size: Number(r.size),
          ...(r.subject ? { subject: r.subject } : {}),
          created: Number(r.created_at),
        };
      }
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      a = { repository: last.repository, digest: last.digest };
    }
  }

  /** References from a manifest to another manifest of its repository. */
  async *childEdges(pageSize = 1000): AsyncIterable<ChildEdge> {
    let a = { repository: "", manifest: "", digest: "" };
    for (;;) {
      const rows: { repository: string; manifest: Digest; digest: Digest }[] = await this.sql`
        SELECT mr.repository, mr.manifest, mr.digest FROM manifest_references mr
        JOIN manifests m ON m.repository = mr.repository AND m.digest = mr.digest
        WHERE mr.repository > ${a.repository}
           OR (mr.repository = ${a.repository} AND mr.manifest > ${a.manifest})
           OR (mr.repository = ${a.repository} AND mr.manifest = ${a.manifest} AND mr.digest > ${a.digest})
        ORDER BY mr.repository, mr.manifest, mr.digest LIMIT ${pageSize}`;
      for (const r of rows) yield { repository: r.repository, parent: r.manifest, child: r.digest };
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      a = { repository: last.repository, manifest: last.manifest, digest: last.digest };
    }
  }

  /** Last pull of each manifest pulled at least once, keyed `repository@digest`. */
  async pulls(): Promise<Map<string, number>> {
    const rows: { repository: string; digest: Digest; pulled_at: Num }[] = await this.sql`
      SELECT repository, digest, pulled_at FROM manifest_pulls`;
    return new Map(rows.map((r) => [`${r.repository}@${r.digest}`, Number(r.pulled_at)]));
  }

  /** Recorded blobs after `after`, in digest order, with their latest link. */
  async blobs(after: string, limit: number): Promise<BlobRecord[]> {
    const rows: { digest: Digest; size: Num; created_at: Num; linked: Num | null }[] = await this.sql`
      SELECT b.digest, b.size, b.created_at,
             (SELECT MAX(rb.created_at) FROM repository_blobs rb WHERE rb.digest = b.digest) AS linked
      FROM blobs b WHERE b.digest > ${after} ORDER BY b.digest LIMIT ${limit}`;
    return rows.map((r) => ({
      digest: r.digest,
      size: Number(r.size),
      created: Number(r.created_at),
      ...(r.linked !== null ? { linked: Number(r.linked) } : {}),
    }));
  }

  /** Links of repositories to blobs, after (repository, digest), made before `before`. */
  async links(after: { repository: string; digest: string }, before: number, limit: number): Promise<LinkRecord[]> {
    const rows: { repository: string; digest: Digest; created_at: Num }[] = await this.sql`
      SELECT repository, digest, created_at FROM repository_blobs
      WHERE (repository > ${after.repository} OR (repository = ${after.repository} AND digest > ${after.digest}))
        AND created_at < ${before}
      ORDER BY repository, digest LIMIT ${limit}`;
    return rows.map((r) => ({ repository: r.repository, digest: r.digest, created: Number(r.created_at) }));
  }

  /** The manifests that reference any of `digests`. */
  async referencesTo(digests: Digest[]): Promise<ReferenceRecord[]> {
    if (digests.length === 0) return [];
    return this.sql`SELECT repository, manifest, digest FROM manifest_references WHERE digest IN ${this.sql(digests)}`;
  }

  /** What one manifest references, as recorded. */
  async referencesFrom(repository: string, manifest: Digest): Promise<Digest[]> {
    const rows: { digest: Digest }[] = await this.sql`
      SELECT digest FROM manifest_references WHERE repository = ${repository} AND manifest = ${manifest}`;
    return rows.map((r) => r.digest);
  }

  /** Of `digests`, those recorded as blobs, with their sizes. */
  async recordedBlobs(digests: Digest[]): Promise<Map<Digest, number>> {
    if (digests.length === 0) return new Map();
    const rows: { digest: Digest; size: Num }[] = await this.sql`SELECT digest, size FROM blobs WHERE digest IN ${this.sql(digests)}`;
    return new Map(rows.map((r) => [r.digest, Number(r.size)]));
  }

  /** Of `digests`, those linked into `repository`. */
  async linkedBlobs(repository: string, digests: Digest[]): Promise<Set<Digest>> {
    if (digests.length === 0) return new Set();
    const rows: { digest: Digest }[] = await this.sql`
      SELECT digest FROM repository_blobs WHERE repository = ${repository} AND digest IN ${this.sql(digests)}`;
    return new Set(rows.map((r) => r.digest));
  }

  async uploads(): Promise<UploadRecord[]> {
    const rows: { id: string; repository: string; size: Num; updated_at: Num }[] = await this.sql`
      SELECT id, repository, size, updated_at FROM uploads ORDER BY id`;
    return rows.map((r) => ({ id: r.id, repository: r.repository, size: Number(r.size), updated: Number(r.updated_at) }));
  }

  /** Repositories holding no tag, manifest, blob link or upload. */
  async emptyRepositories(): Promise<string[]> {
    const rows: { name: string }[] = await this.sql`
      SELECT name FROM repositories r
      WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = r.name)
        AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository = r.name)
        AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.repository = r.name)
        AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.repository = r.name)
      ORDER BY name`;
    return rows.map((r) => r.name);
  }

  // --- conditional deletes (gc) -------------------------------------------

  /** Remove a tag if it still points where it did when listed. */
  async deleteTagIf(tag: TagRecord): Promise<boolean> {
    const result = await this.sql`
      DELETE FROM tags WHERE repository = ${tag.repository} AND name = ${tag.name}
        AND digest = ${tag.digest} AND updated_at = ${tag.updated}`;
    return result.count > 0;
  }

  /**
   * Remove a manifest (its references and pull times with it) if it was
   * pushed before `before`, no tag points at it and no manifest of its
   * repository references it, checked under its lock, exclusive: a push
   * that tags it or references it meanwhile keeps it. Returns whether it went.
   */
  async deleteManifestIf(repository: string, digest: Digest, before: number): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [manifestLock(repository, digest)], "exclusive");
      const rows: { created_at: Num }[] = await tx`
        SELECT created_at FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
      if (!rows[0] || Number(rows[0].created_at) >= before) return false;
      const tagged = await tx`SELECT 1 AS x FROM tags WHERE repository = ${repository} AND digest = ${digest} LIMIT 1`;
      if (tagged.length > 0) return false;
      const parent = await tx`SELECT 1 AS x FROM manifest_references WHERE repository = ${repository} AND digest = ${digest} LIMIT 1`;
      if (parent.length > 0) return false;
      await tx`DELETE FROM manifests WHERE repository = ${repository} AND digest = ${digest}`;
      await tx`DELETE FROM manifest_references WHERE repository = ${repository} AND manifest = ${digest}`;
      await tx`DELETE FROM manifest_pulls WHERE repository = ${repository} AND digest = ${digest}`;
      return true;
    });
  }

  /**
   * Remove a repository's link to a blob when no manifest of the repository
   * references it and it was made before `before` (under the blob's lock,
   * exclusive, so a manifest checking its blobs sees the link or its absence).
   */
  async unlinkIfUnused(repository: string, digest: Digest, before: number): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "exclusive");
      const refs = await tx`SELECT 1 AS x FROM manifest_references WHERE repository = ${repository} AND digest = ${digest} LIMIT 1`;
      if (refs.length > 0) return false;
      const result = await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${digest} AND created_at < ${before}`;
      return result.count > 0;
    });
  }

  /**
   * Remove bytes no row records, under the blob's exclusive lock, when
   * `stillOrphaned()` agrees (no row has appeared, the bytes are still
   * old). A writer records a blob under the same lock and only when its
   * bytes are there, so it sees them either kept or gone.
   */
  async deleteUnrecordedBytes(digest: Digest, stillOrphaned: () => Promise<boolean>, deleteBytes: () => Promise<void>): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "exclusive");
      const rows = await tx`SELECT 1 AS x FROM blobs WHERE digest = ${digest}`;
      if (rows.length > 0 || !(await stillOrphaned())) return false;
      await deleteBytes();
      return true;
    });
  }

  /** Remove a repository row if it holds nothing (checked under its lock). */
  async deleteRepositoryIfEmpty(name: string): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [repositoryLock(name)], "exclusive");
      const result = await tx`
        DELETE FROM repositories WHERE name = ${name}
          AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository = ${name})
          AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository = ${name})
          AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.repository = ${name})
          AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.repository = ${name})`;
      return result.count > 0;
    });
  }

  // --- repairs (fsck) -------------------------------------------------------

  /**
   * Record bytes that are on disk but lost their row, for the manifests
   * that reference them: the row and a link into each referencing
   * repository, under the blob's lock and only while `present()` holds.
   */
  async restoreBlob(digest: Digest, size: number, present: () => Promise<boolean>, now = Date.now()): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "shared");
      if (!(await present())) return false;
      await tx`INSERT INTO blobs (digest, size, created_at) VALUES (${digest}, ${size}, ${now}) ON CONFLICT (digest) DO NOTHING`;
      await tx`INSERT INTO repository_blobs (repository, digest, created_at)
               SELECT DISTINCT repository, digest, ${now} FROM manifest_references WHERE digest = ${digest}
               ON CONFLICT (repository, digest) DO NOTHING`;
      return true;
    });
  }

  /** Link a recorded blob into a repository whose manifest references it. */
  async relinkBlob(repository: string, digest: Digest, now = Date.now()): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "shared");
      const rows = await tx`SELECT 1 AS x FROM blobs WHERE digest = ${digest}`;
      if (rows.length === 0) return false;
      await tx`INSERT INTO repository_blobs (repository, digest, created_at) VALUES (${repository}, ${digest}, ${now})
               ON CONFLICT (repository, digest) DO NOTHING`;
      return true;
    });
  }

  /** Record references a manifest's bytes name but its rows lack. */
  async addReferences(repository: string, manifest: Digest, digests: Digest[]): Promise<void> {
    await this.write(async (tx) => {
      for (const digest of digests) {
        await tx`INSERT INTO manifest_references (repository, manifest, digest) VALUES (${repository}, ${manifest}, ${digest})
                 ON CONFLICT (repository, manifest, digest) DO NOTHING`;
      }
    });
  }

  /**
   * Forget a blob whose bytes are gone or corrupt, when no manifest
   * references it (under its exclusive lock; `confirm()` re-checks the
   * bytes); `deleteBytes` removes what is left of them.
   */
  async forgetBrokenBlob(digest: Digest, confirm: () => Promise<boolean>, deleteBytes: () => Promise<void>): Promise<boolean> {
    return this.write(async (tx) => {
      await lockNames(tx, this.dialect, [blobLock(digest)], "exclusive");
      const refs = await tx`SELECT 1 AS x FROM manifest_references WHERE digest = ${digest} LIMIT 1`;
      if (refs.length > 0 || !(await confirm())) return false;
      await tx`DELETE FROM repository_blobs WHERE digest = ${digest}`;
      await tx`DELETE FROM blobs WHERE digest = ${digest}`;
      await deleteBytes();
      return true;
    });
  }

  /** Remove a tag whose manifest is not in its repository (still so, checked in the statement). */
  async deleteDanglingTag(repository: string, name: string): Promise<boolean> {
    const result = await this.sql`
      DELETE FROM tags WHERE repository = ${repository} AND name = ${name}
        AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository = tags.repository AND m.digest = tags.digest)`;
    return result.count > 0;
  }

  /** Remove an upload session row. */
  async deleteUpload(id: string): Promise<boolean> {
    const result = await this.sql`DELETE FROM uploads WHERE id = ${id}`;
    return result.count > 0;
  }
}
