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
 * Every statement is idempotent (IF NOT EXISTS), so two processes opening
 * one store at once cannot trip over each other.
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
];

export async function migrate(sql: SQL, dialect: Dialect): Promise<void> {
  await sql.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
  )`);
  const rows: { version: number | string }[] = await sql`SELECT version FROM schema_migrations`;
  const applied = new Set(rows.map((r) => Number(r.version)));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await sql.begin(async (tx) => {
      for (const statement of migration.statements(dialect)) await tx.unsafe(statement);
      await tx`INSERT INTO schema_migrations (version, applied_at) VALUES (${migration.version}, ${Date.now()})
               ON CONFLICT (version) DO NOTHING`;
    });
  }
}
