/**
 * One writer per upload session. A chunk is appended by one request at a
 * time; a second request for the same session at the same moment gets 416
 * (RANGE_INVALID) and re-reads the offset, as the distribution protocol
 * expects.
 *
 * - ProcessUploadLocks: a set in this process. Enough for one process per
 *   store (the embedded default), and costs nothing.
 * - DatabaseUploadLocks: a lease row in the metadata database, for several
 *   processes or nodes sharing one store, where chunks of one upload may
 *   land on any of them. The writer renews the lease while it streams; a
 *   process that dies leaves a lease that simply runs out, so the session
 *   is writable again after at most the lease time.
 */
import { randomUUID } from "node:crypto";
import type { SQL } from "bun";
import { OciError } from "../oci/index.ts";

export interface UploadLocks {
  /** Run `fn` as the only writer of upload `id`; RANGE_INVALID when another request writes it. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** True when a request of this process writes upload `id` now. */
  busy(id: string): boolean;
  /** Forget leases that ran out (their process died). */
  sweep(now?: number): Promise<void>;
}

function busyError(id: string): OciError {
  return new OciError("RANGE_INVALID", `upload ${id} is being written by another request`);
}

export class ProcessUploadLocks implements UploadLocks {
  readonly #busy = new Set<string>();

  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.#busy.has(id)) throw busyError(id);
    this.#busy.add(id);
    try {
      return await fn();
    } finally {
      this.#busy.delete(id);
    }
  }

  busy(id: string): boolean {
    return this.#busy.has(id);
  }

  async sweep(): Promise<void> {}
}

export interface LeaseOptions {
  /** How long a lease lasts without renewal. Default 30 s. */
  leaseMs?: number;
}

export class DatabaseUploadLocks implements UploadLocks {
  readonly #local = new ProcessUploadLocks();
  readonly #leaseMs: number;

  constructor(
    private readonly sql: SQL,
    options: LeaseOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    // The local set first: a second request in this process fails without a round trip.
    return this.#local.exclusive(id, async () => {
      const holder = randomUUID();
      if (!(await this.#acquire(id, holder))) throw busyError(id);
      const renewal = setInterval(() => void this.#renew(id, holder).catch(() => undefined), this.#leaseMs / 3);
      try {
        return await fn();
      } finally {
        clearInterval(renewal);
        await this.sql`DELETE FROM upload_writers WHERE id = ${id} AND holder = ${holder}`.catch(() => undefined);
      }
    });
  }

  busy(id: string): boolean {
    return this.#local.busy(id);
  }

  async sweep(now = Date.now()): Promise<void> {
    await this.sql`DELETE FROM upload_writers WHERE expires_at < ${now}`;
  }

  async #acquire(id: string, holder: string): Promise<boolean> {
    const now = Date.now();
    const result = await this.sql`
      INSERT INTO upload_writers (id, holder, expires_at) VALUES (${id}, ${holder}, ${now + this.#leaseMs})
      ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE upload_writers.expires_at < ${now}`;
    return result.count > 0;
  }

  async #renew(id: string, holder: string): Promise<void> {
    await this.sql`UPDATE upload_writers SET expires_at = ${Date.now() + this.#leaseMs} WHERE id = ${id} AND holder = ${holder}`;
  }
}
