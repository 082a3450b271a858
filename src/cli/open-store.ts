/**
 * Open an existing store for a maintenance command (gc, fsck): a root
 * directory (never created by mistake: it must hold a store already), or
 * the metadata database and blobs a shared store keeps elsewhere, named
 * as `serve` names them.
 */
import { stat } from "node:fs/promises";
import { systemErrorReason } from "../oci/index.ts";
import { databasePath, type ResolvedStore, resolveStoreLocation, S3LocationError, Store, StoreLocationError } from "../store/index.ts";
import { CommandError, UsageError } from "./command.ts";

/** The flags every maintenance command takes to find its store. */
export const STORE_FLAGS = {
  root: { type: "string" },
  metadata: { type: "string" },
  blobs: { type: "string" },
  "s3-endpoint": { type: "string" },
  "s3-region": { type: "string" },
} as const;

export const STORE_FLAGS_HELP = `  --root DIR           the store directory (default ./stevedore-data)
  --metadata URL       a shared store's database: sqlite://FILE or postgres://… (as serve)
  --blobs LOCATION     a shared store's blobs: a directory or s3://bucket/prefix (as serve)
  --s3-endpoint URL    the object store (default: AWS_ENDPOINT_URL)
  --s3-region REGION   its region (default: AWS_REGION, else us-east-1)`;

const DEFAULT_ROOT = "./stevedore-data";

export interface StoreFlags {
  root?: string | undefined;
  metadata?: string | undefined;
  blobs?: string | undefined;
  "s3-endpoint"?: string | undefined;
  "s3-region"?: string | undefined;
}

export async function openStoreFromFlags(v: StoreFlags, env: Record<string, string | undefined>, command: string): Promise<Store> {
  if (v.metadata === undefined && v.blobs === undefined) return openExistingStore(v.root ?? DEFAULT_ROOT, command);
  const resolved = resolveStoreFlags({ ...v, root: v.root ?? DEFAULT_ROOT }, env, command);
  return Store.open(resolved.options).catch((error: Error) => {
    throw new CommandError(`${command}: cannot open the store (metadata ${resolved.metadata}, blobs ${resolved.blobs}): ${systemErrorReason(error)}`);
  });
}

/**
 * The store --root, --metadata, --blobs and the S3 flags name (gc, fsck,
 * serve, migrate's two ends); bad values are usage errors of `command`.
 * With both the metadata and the blobs elsewhere, no root directory is
 * needed (nor created).
 */
export function resolveStoreFlags(
  v: StoreFlags,
  env: Record<string, string | undefined>,
  command: string,
  s3: { partSize?: number } = {},
): ResolvedStore {
  try {
    return resolveStoreLocation({
      ...(v.metadata && v.blobs ? {} : v.root !== undefined ? { root: v.root } : {}),
      ...(v.metadata ? { metadata: v.metadata } : {}),
      ...(v.blobs ? { blobs: v.blobs } : {}),
      s3: { env, ...(v["s3-endpoint"] ? { endpoint: v["s3-endpoint"] } : {}), ...(v["s3-region"] ? { region: v["s3-region"] } : {}), ...s3 },
    });
  } catch (error) {
    if (error instanceof StoreLocationError || error instanceof S3LocationError) throw new UsageError(`${command}: ${error.message}`, command);
    throw error;
  }
}

export async function openExistingStore(root: string, command: string): Promise<Store> {
  try {
    await stat(databasePath(root));
  } catch {
    throw new CommandError(`${command}: no store at ${JSON.stringify(root)} (it has no ${JSON.stringify(databasePath(root))}); give its directory with --root`);
  }
  return Store.open({ root }).catch((error: Error) => {
    throw new CommandError(`${command}: cannot open the store at ${JSON.stringify(root)}: ${systemErrorReason(error)}`);
  });
}
