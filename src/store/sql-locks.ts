/**
 * The locks that let gc delete while clients push. gc removes a blob's
 * row and its bytes while holding the blob's lock exclusively; a writer
 * holds it (shared) while it checks that bytes are there and records or
 * links them, and while a manifest checks the blobs and children it
 * references. So a writer either sees the blob gone (and stores the bytes
 * again, or refuses the manifest) or gc sees the writer's link or
 * reference and keeps the blob: never a row or manifest without bytes.
 *
 * - SQLite: every write transaction is IMMEDIATE, holding the database's
 *   write lock from its start, so write transactions never overlap (also
 *   across processes) and these calls have nothing to add.
 * - PostgreSQL: transaction-scoped advisory locks on a hash of the name,
 *   released at commit or rollback. Names are taken in sorted order, so
 *   two transactions never wait on each other in a cycle.
 */
import type { SQL } from "bun";
import type { Digest } from "../digest/index.ts";
import type { Dialect } from "./migrations.ts";

export type LockMode = "shared" | "exclusive";

export async function lockNames(tx: SQL, dialect: Dialect, names: Iterable<string>, mode: LockMode): Promise<void> {
  if (dialect.name !== "postgres") return;
  for (const name of [...new Set(names)].sort()) {
    if (mode === "shared") await tx`SELECT 1 AS x FROM (SELECT pg_advisory_xact_lock_shared(hashtextextended(${name}, 0))) AS l`;
    else await tx`SELECT 1 AS x FROM (SELECT pg_advisory_xact_lock(hashtextextended(${name}, 0))) AS l`;
  }
}

export const blobLock = (digest: Digest): string => `blob ${digest}`;
export const manifestLock = (repository: string, digest: Digest): string => `manifest ${repository}@${digest}`;
export const repositoryLock = (repository: string): string => `repository ${repository}`;
