/**
 * Where an S3 blob store lives: `s3://bucket/prefix`, plus endpoint, region
 * and credentials from explicit options, the URL's query
 * (`?endpoint=…&region=…`) or the usual environment variables, in that
 * order. Addressing is path-style (`endpoint/bucket/key`), which every
 * S3-compatible server (Ceph RGW, MinIO) and AWS itself accept.
 */
import type { S3Credentials } from "./s3-signature.ts";

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; "" for the bucket root. */
  prefix: string;
  /** `http(s)://host[:port]`, no path. */
  endpoint: string;
  region: string;
  credentials: S3Credentials;
}

export interface S3LocationOptions {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Environment to read AWS_* variables from. */
  env?: Record<string, string | undefined>;
}

export class S3LocationError extends Error {
  override readonly name = "S3LocationError";
}

/** Bucket names as S3 allows them (3–63 characters, lowercase, digits, dots, hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const isS3Url = (text: string): boolean => text.startsWith("s3://");

export function parseS3Location(text: string, options: S3LocationOptions = {}): S3Location {
  if (!isS3Url(text)) throw new S3LocationError(`${JSON.stringify(text)} is not an s3:// URL`);
  // Parsed by hand: URL would resolve "." and ".." in the prefix away instead of refusing them.
  const match = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/.exec(text);
  if (!match) throw new S3LocationError(`invalid S3 URL ${JSON.stringify(text)}`);
  const bucket = match[1]!;
  if (!BUCKET.test(bucket)) {
    throw new S3LocationError(`invalid bucket name ${JSON.stringify(bucket)} in ${JSON.stringify(text)}: 3-63 lowercase letters, digits, dots and hyphens`);
  }
  let prefix: string;
  try {
    prefix = decodeURIComponent(match[2]!).replace(/^\/|\/$/g, "");
  } catch {
    throw new S3LocationError(`invalid S3 URL ${JSON.stringify(text)}`);
  }
  if (prefix !== "" && prefix.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new S3LocationError(`invalid key prefix ${JSON.stringify(prefix)} in ${JSON.stringify(text)}`);
  }
  const query = new URLSearchParams(match[3] ?? "");
  const env = options.env ?? {};
  const region = options.region ?? query.get("region") ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpointText =
    options.endpoint ??
    query.get("endpoint") ??
    env.AWS_ENDPOINT_URL_S3 ??
    env.AWS_ENDPOINT_URL ??
    `https://s3.${region}.amazonaws.com`;
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText);
  } catch {
    throw new S3LocationError(`invalid S3 endpoint ${JSON.stringify(endpointText)}; expected http(s)://host[:port]`);
  }
  if ((endpoint.protocol !== "http:" && endpoint.protocol !== "https:") || (endpoint.pathname !== "/" && endpoint.pathname !== "")) {
    throw new S3LocationError(`invalid S3 endpoint ${JSON.stringify(endpointText)}; expected http(s)://host[:port]`);
  }
  const accessKeyId = options.accessKeyId ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new S3LocationError(`no S3 credentials for ${text}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  }
  const sessionToken = options.sessionToken ?? env.AWS_SESSION_TOKEN;
  return {
    bucket,
    prefix,
    endpoint: endpoint.origin,
    region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
  };
}

/** The URL naming a location in messages (no credentials). */
export function describeS3Location(location: S3Location): string {
  return `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ""} at ${location.endpoint}`;
}
