/**
 * The metadata schema, as one ordered list of migrations that runs on both
 * SQLite and PostgreSQL. Only two column types differ, so the dialect
 * fills them in:
 * - `key`: names and digests, compared byte by byte ("C" collation on
 *   PostgreSQL, SQLite's default BINARY), so pagination order is the same
 *   everywhere and matches what clients expect from `last=`.
 * - `bytes`: manifest bytes (BLOB / BYTEA).
 * Times are BIGINT milliseconds since the epoch.
 *
 * Every statement is idempotent (IF NOT EXISTS), and migrations run one
 * process at a time (see migrate), so several processes opening one store
 * at once cannot trip over each other.
 */
import type { SQL } from "bun";

export interface Dialect {
  name: "sqlite" | "postgres";
  key: string;
  bytes: string;
}

export const DIALECTS: Record<Dialect["name"], Dialect> = {
  sqlite: { name: "sqlite", key: "TEXT", bytes: "BLOB" },
  postgres: { name: "postgres", key: 'TEXT COLLATE "C"', bytes: "BYTEA" },
};

interface Migration {
  version: number;
  statements(d: Dialect): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (d) => [
      `CREATE TABLE IF NOT EXISTS repositories (
        name ${d.key} PRIMARY KEY,
        created_at BIGINT NOT NULL
      )`,
      // One row per blob whose bytes are committed in the driver.
      `CREATE TABLE IF NOT EXISTS blobs (
        digest ${d.key} PRIMARY KEY,
        size BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
      // A blob is visible in a repository only through a link.
      `CREATE TABLE IF NOT EXISTS repository_blobs (
        repository ${d.key} NOT NULL,
        digest ${d.key} NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repository, digest)
      )`,
      `CREATE INDEX IF NOT EXISTS repository_blobs_by_digest ON repository_blobs (digest)`,
      // Exact manifest bytes; subject and artifact_type make the referrers index.
      `CREATE TABLE IF NOT EXISTS manifests (
        repository ${d.key} NOT NULL,
        digest ${d.key} NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        artifact_type TEXT,
        subject ${d.key},
        annotations TEXT,
        content ${d.bytes} NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (repository, digest)
      )`,
      `CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests (repository, subject)`,
      `CREATE INDEX IF NOT EXISTS manifests_by_digest ON manifests (digest)`,
      // What each manifest needs (config, layers, child manifests): gc's mark phase is a query.
      `CREATE TABLE IF NOT EXISTS manifest_references (
        repository ${d.key} NOT NULL,
        manifest ${d.key} NOT NULL,
        digest ${d.key} NOT NULL,
        PRIMARY KEY (repository, manifest, digest)
      )`,
      `CREATE INDEX IF NOT EXISTS manifest_references_by_digest ON manifest_references (digest)`,
      `CREATE TABLE IF NOT EXISTS tags (
        repository ${d.key} NOT NULL,
        name ${d.key} NOT NULL,
        digest ${d.key} NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (repository, name)
      )`,
      `CREATE INDEX IF NOT EXISTS tags_by_digest ON tags (repository, digest)`,
      // The bytes of an upload are in the driver; the committed length is here.
      `CREATE TABLE IF NOT EXISTS uploads (
        id ${d.key} PRIMARY KEY,
        repository ${d.key} NOT NULL,
        size BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    statements: (d) => [
      // When a manifest was last pulled (GET through the registry), for the
      // admin API and retention. Apart from manifests so that recording a
      // pull never rewrites a row holding manifest bytes.
      `CREATE TABLE IF NOT EXISTS manifest_pulls (
        repository ${d.key} NOT NULL,
        digest ${d.key} NOT NULL,
        pulled_at BIGINT NOT NULL,
        PRIMARY KEY (repository, digest)
      )`,
    ],
  },
  {
    version: 3,
    statements: (d) => [
      // Which request is writing an upload session, when several processes
      // share the store: a lease its writer renews, so another process
      // neither writes the same session at once nor waits forever on one
      // whose process died.
      `CREATE TABLE IF NOT EXISTS upload_writers (
        id ${d.key} PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      )`,
      // Staged uploads of an object-store driver: the bucket's multipart
      // upload id and each part's ETag (multipart-ledger.ts).
      `CREATE TABLE IF NOT EXISTS staged_uploads (
        id ${d.key} PRIMARY KEY,
        multipart_id TEXT,
        sealed_size BIGINT,
        created_at BIGINT NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS staged_parts (
        id ${d.key} NOT NULL,
        part_number INTEGER NOT NULL,
        etag TEXT NOT NULL,
        PRIMARY KEY (id, part_number)
      )`,
    ],
  },
  {
    version: 4,
    statements: (d) => [
      // The tail objects a staged upload wrote (s3-driver.ts), so they are
      // removed by name, without listing the bucket.
      `CREATE TABLE IF NOT EXISTS staged_tails (
        id ${d.key} NOT NULL,
        tail_offset BIGINT NOT NULL,
        PRIMARY KEY (id, tail_offset)
      )`,
    ],
  },
];

/** The table that records which migrations ran. */
export const SCHEMA_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  applied_at BIGINT NOT NULL
)`;

/**
 * Bring the schema up to date. Migrations run one process at a time, with
 * the applied versions read under the lock: on PostgreSQL an advisory
 * lock held by the transaction (concurrent CREATE TABLE IF NOT EXISTS
 * otherwise fails there), on SQLite the write lock of BEGIN IMMEDIATE.
 * A store that is up to date takes no lock.
 */
export async function migrate(sql: SQL, dialect: Dialect): Promise<void> {
  const pending = (applied: Set<number>) => MIGRATIONS.filter((m) => !applied.has(m.version));
  if (pending(await appliedVersions(sql).catch(() => new Set<number>())).length === 0) return;
  const run = async (tx: SQL) => {
    if (dialect.name === "postgres") {
      await tx`SELECT 1 AS x FROM (SELECT pg_advisory_xact_lock(hashtextextended('stevedore schema migrations', 0))) AS l`;
    }
    await tx.unsafe(SCHEMA_MIGRATIONS_TABLE);
    for (const migration of pending(await appliedVersions(tx))) {
      for (const statement of migration.statements(dialect)) await tx.unsafe(statement);
      await tx`INSERT INTO schema_migrations (version, applied_at) VALUES (${migration.version}, ${Date.now()})`;
    }
  };
  await (dialect.name === "sqlite" ? sql.begin("IMMEDIATE", run) : sql.begin(run));
}

async function appliedVersions(sql: SQL): Promise<Set<number>> {
  const rows: { version: number | string }[] = await sql`SELECT version FROM schema_migrations`;
  return new Set(rows.map((r) => Number(r.version)));
}
