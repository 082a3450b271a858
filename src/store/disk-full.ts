/**
 * A write that failed because the disk is full, wherever it happened: the
 * blob bytes (ENOSPC, or EDQUOT past a quota), the SQLite file
 * (SQLITE_FULL) or PostgreSQL (53100 disk_full). The registry answers all
 * of them the same way, 507 with a message saying so: the operator frees
 * space and the same push goes through; nothing half-written is visible.
 */
export function isDiskFull(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  return code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL" || code === "53100" || errno === "53100";
}

/** As the store says it for bytes it could not write (store.ts). */
export const DISK_FULL_MESSAGE = "the store's disk is full";
