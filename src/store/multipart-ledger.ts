/**
 * Where the S3 driver keeps the state of staged uploads: the bucket's
 * multipart upload id and the ETag of each part, in the metadata
 * database, so that any process can continue an upload another process
 * began. The bytes themselves are in the bucket (see s3-driver.ts).
 */
import type { SQL } from "bun";

export interface StagedMultipart {
  id: string;
  /** The bucket's id for the multipart upload, once the first part was written. */
  multipartId?: string;
  /**
   * Set once no more bytes may be written: the upload's size. For one of a
   * part or more, its parts were completed into one staging object.
   */
  sealedSize?: number;
  created: number;
}

export interface LedgerPart {
  partNumber: number;
  etag: string;
}

export interface MultipartLedger {
  create(id: string, now?: number): Promise<void>;
  get(id: string): Promise<StagedMultipart | undefined>;
  setMultipart(id: string, multipartId: string): Promise<void>;
  seal(id: string, size: number): Promise<void>;
  /** Record (or replace: a part written again after a failed request) one part. */
  putPart(id: string, partNumber: number, etag: string): Promise<void>;
  /** Parts 1..`upTo`, in order (fewer when some are missing). */
  parts(id: string, upTo: number): Promise<LedgerPart[]>;
  /** Record that a tail object ending at `offset` was written. */
  addTail(id: string, offset: number): Promise<void>;
  /** Offsets of the tail objects written and not yet dropped. */
  tails(id: string): Promise<number[]>;
  dropTails(id: string, offsets: number[]): Promise<void>;
  forget(id: string): Promise<void>;
  all(): Promise<StagedMultipart[]>;
}

interface RawStaged {
  id: string;
  multipart_id: string | null;
  sealed_size: number | string | null;
  created_at: number | string;
}

/** The ledger in the store's SQL database (tables from migrations.ts). */
export class SqlMultipartLedger implements MultipartLedger {
  constructor(private readonly sql: SQL) {}

  async create(id: string, now = Date.now()): Promise<void> {
    await this.sql`INSERT INTO staged_uploads (id, created_at) VALUES (${id}, ${now})`;
  }

  async get(id: string): Promise<StagedMultipart | undefined> {
    const rows: RawStaged[] = await this.sql`SELECT id, multipart_id, sealed_size, created_at FROM staged_uploads WHERE id = ${id}`;
    return rows[0] && toStaged(rows[0]);
  }

  async setMultipart(id: string, multipartId: string): Promise<void> {
    await this.sql`UPDATE staged_uploads SET multipart_id = ${multipartId} WHERE id = ${id}`;
  }

  async seal(id: string, size: number): Promise<void> {
    await this.sql`UPDATE staged_uploads SET sealed_size = ${size} WHERE id = ${id}`;
  }

  async putPart(id: string, partNumber: number, etag: string): Promise<void> {
    await this.sql`INSERT INTO staged_parts (id, part_number, etag) VALUES (${id}, ${partNumber}, ${etag})
                   ON CONFLICT (id, part_number) DO UPDATE SET etag = excluded.etag`;
  }

  async parts(id: string, upTo: number): Promise<LedgerPart[]> {
    const rows: { part_number: number | string; etag: string }[] = await this.sql`
      SELECT part_number, etag FROM staged_parts WHERE id = ${id} AND part_number <= ${upTo} ORDER BY part_number`;
    return rows.map((r) => ({ partNumber: Number(r.part_number), etag: r.etag }));
  }

  async addTail(id: string, offset: number): Promise<void> {
    await this.sql`INSERT INTO staged_tails (id, tail_offset) VALUES (${id}, ${offset}) ON CONFLICT (id, tail_offset) DO NOTHING`;
  }

  async tails(id: string): Promise<number[]> {
    const rows: { tail_offset: number | string }[] = await this.sql`SELECT tail_offset FROM staged_tails WHERE id = ${id} ORDER BY tail_offset`;
    return rows.map((r) => Number(r.tail_offset));
  }

  async dropTails(id: string, offsets: number[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.sql`DELETE FROM staged_tails WHERE id = ${id} AND tail_offset IN ${this.sql(offsets)}`;
  }

  async forget(id: string): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM staged_tails WHERE id = ${id}`;
      await tx`DELETE FROM staged_parts WHERE id = ${id}`;
      await tx`DELETE FROM staged_uploads WHERE id = ${id}`;
    });
  }

  async all(): Promise<StagedMultipart[]> {
    const rows: RawStaged[] = await this.sql`SELECT id, multipart_id, sealed_size, created_at FROM staged_uploads`;
    return rows.map(toStaged);
  }
}

function toStaged(r: RawStaged): StagedMultipart {
  return {
    id: r.id,
    ...(r.multipart_id ? { multipartId: r.multipart_id } : {}),
    ...(r.sealed_size !== null ? { sealedSize: Number(r.sealed_size) } : {}),
    created: Number(r.created_at),
  };
}
