/**
 * Where a store lives, as the command line names it: a root directory
 * (the embedded default: blobs under it, metadata in its SQLite file),
 * and optionally the metadata database and the blobs elsewhere:
 *
 *   --metadata sqlite://FILE | postgres://user:pass@host:port/db
 *   --blobs    DIR | file://DIR | s3://bucket/prefix
 *
 * Several `serve` processes or nodes share one store with PostgreSQL and
 * S3; the embedded default stays one directory.
 */
import type { BlobDriver } from "./blob-driver.ts";
import { FilesystemDriver } from "./fs-driver.ts";
import { SqlMultipartLedger } from "./multipart-ledger.ts";
import { S3Bucket } from "./s3-bucket.ts";
import { S3Driver } from "./s3-driver.ts";
import { describeS3Location, isS3Url, parseS3Location, type S3LocationOptions } from "./s3-location.ts";
import type { StoreOptions } from "./store.ts";

export interface StoreLocation {
  root?: string;
  metadata?: string;
  blobs?: string;
  /** Endpoint, region, credentials and part size for s3:// blobs. */
  s3?: S3LocationOptions & { partSize?: number };
}

export interface ResolvedStore {
  options: StoreOptions;
  /** How to name the metadata database in messages (no password). */
  metadata: string;
  /** How to name where blobs live in messages. */
  blobs: string;
}

export class StoreLocationError extends Error {
  override readonly name = "StoreLocationError";
}

export function resolveStoreLocation(location: StoreLocation): ResolvedStore {
  const { root } = location;
  if (root === undefined && (location.metadata === undefined || location.blobs === undefined)) {
    throw new StoreLocationError("a store needs a root directory unless both its metadata database and its blobs are given");
  }
  let databaseUrl: string | undefined;
  let metadata: string;
  if (location.metadata === undefined) {
    metadata = `sqlite ${root}/metadata.db`;
  } else {
    databaseUrl = checkDatabaseUrl(location.metadata);
    metadata = redact(databaseUrl);
  }
  let driver: StoreOptions["driver"];
  let blobs: string;
  const given = location.blobs;
  if (given === undefined) {
    blobs = `filesystem ${root}`;
  } else if (isS3Url(given)) {
    const { partSize, ...s3 } = location.s3 ?? {};
    const s3Location = parseS3Location(given, s3);
    const bucket = new S3Bucket(s3Location);
    driver = async (m) => {
      await bucket.check();
      return new S3Driver(bucket, new SqlMultipartLedger(m.database), partSize === undefined ? {} : { partSize });
    };
    blobs = describeS3Location(s3Location);
  } else {
    const dir = given.startsWith("file://") ? decodeURIComponent(new URL(given).pathname) : given;
    if (dir === "" || /^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) {
      throw new StoreLocationError(`unsupported blob location ${JSON.stringify(given)}; expected a directory or s3://bucket/prefix`);
    }
    driver = (): Promise<BlobDriver> => FilesystemDriver.open(dir);
    blobs = `filesystem ${dir}`;
  }
  return {
    options: {
      ...(root === undefined ? {} : { root }),
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
      ...(driver === undefined ? {} : { driver }),
    },
    metadata,
    blobs,
  };
}

function checkDatabaseUrl(url: string): string {
  if (/^(postgres|postgresql):\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new StoreLocationError(`invalid PostgreSQL URL ${JSON.stringify(redact(url))}`);
    }
    return url;
  }
  if (/^sqlite:/.test(url)) {
    if (url.replace(/^sqlite:(\/\/)?/, "") === "") throw new StoreLocationError(`${JSON.stringify(url)} names no SQLite file`);
    return url;
  }
  throw new StoreLocationError(`unsupported metadata database ${JSON.stringify(redact(url))}; expected sqlite://FILE or postgres://…`);
}

/** A database URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
