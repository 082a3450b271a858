/** Where a store lives, as the command line names it: --root, --metadata, --blobs and the S3 options. */
import { expect, test } from "bun:test";
import { parseSize } from "../../../src/cli/serve.ts";
import { UsageError } from "../../../src/cli/command.ts";
import { parseS3Location, S3LocationError } from "../../../src/store/s3-location.ts";
import { redact, resolveStoreLocation, StoreLocationError } from "../../../src/store/store-location.ts";
import { signRequest } from "../../../src/store/s3-signature.ts";
import { stevedore } from "../cli/run.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret" };

test("s3:// locations: bucket and prefix; endpoint, region and keys from options, the URL, then the environment", () => {
  expect(parseS3Location("s3://site-registry/stevedore/prod/", { env: { ...KEYS, AWS_ENDPOINT_URL: "http://rgw:7480", AWS_REGION: "eu-1" } })).toEqual({
    bucket: "site-registry",
    prefix: "stevedore/prod",
    endpoint: "http://rgw:7480",
    region: "eu-1",
    credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
  });
  const fromUrl = parseS3Location("s3://b12/?endpoint=https://s3.local:9000&region=x", { env: KEYS });
  expect([fromUrl.prefix, fromUrl.endpoint, fromUrl.region]).toEqual(["", "https://s3.local:9000", "x"]);
  const options = parseS3Location("s3://b12", { endpoint: "http://a:1", region: "r", env: { ...KEYS, AWS_ENDPOINT_URL: "http://b:2" } });
  expect([options.endpoint, options.region]).toEqual(["http://a:1", "r"]);
  expect(parseS3Location("s3://b12", { env: KEYS }).endpoint).toBe("https://s3.us-east-1.amazonaws.com");
  expect(parseS3Location("s3://b12", { env: { ...KEYS, AWS_SESSION_TOKEN: "t" } }).credentials.sessionToken).toBe("t");
  for (const [bad, message] of [
    ["s3://B", "invalid bucket name"],
    ["s3://ab", "invalid bucket name"],
    ["s3://bucket/a//b", "invalid key prefix"],
    ["s3://bucket/../x", "invalid key prefix"],
    ["http://bucket", "is not an s3:// URL"],
  ] as const) {
    expect(() => parseS3Location(bad, { env: KEYS })).toThrow(message);
  }
  expect(() => parseS3Location("s3://bucket", { env: {} })).toThrow(S3LocationError);
  expect(() => parseS3Location("s3://bucket", { env: { ...KEYS, AWS_ENDPOINT_URL: "ftp://x" } })).toThrow("invalid S3 endpoint");
  expect(() => parseS3Location("s3://bucket", { env: { ...KEYS, AWS_ENDPOINT_URL: "http://x/path" } })).toThrow("invalid S3 endpoint");
});

test("store locations: the embedded default, or metadata and blobs elsewhere; passwords never shown", () => {
  const embedded = resolveStoreLocation({ root: "/var/lib/s" });
  expect(embedded).toEqual({ options: { root: "/var/lib/s" }, metadata: "sqlite /var/lib/s/metadata.db", blobs: "filesystem /var/lib/s" });
  const shared = resolveStoreLocation({
    metadata: "postgres://reg:hunter2@db:5432/stevedore",
    blobs: "s3://site/reg",
    s3: { env: { ...KEYS, AWS_ENDPOINT_URL: "http://rgw:7480" } },
  });
  expect([shared.metadata, shared.blobs, shared.options.root, typeof shared.options.driver]).toEqual([
    "postgres://reg:***@db:5432/stevedore",
    "s3://site/reg at http://rgw:7480",
    undefined,
    "function",
  ]);
  expect(resolveStoreLocation({ root: "r", blobs: "file:///mnt/blobs" }).blobs).toBe("filesystem /mnt/blobs");
  expect(resolveStoreLocation({ root: "r", metadata: "sqlite:///var/m.db" }).options.databaseUrl).toBe("sqlite:///var/m.db");
  expect(() => resolveStoreLocation({ metadata: "postgres://db/x" })).toThrow(StoreLocationError);
  expect(() => resolveStoreLocation({ root: "r", metadata: "mysql://db/x" })).toThrow("unsupported metadata database");
  expect(() => resolveStoreLocation({ root: "r", metadata: "sqlite://" })).toThrow("names no SQLite file");
  expect(() => resolveStoreLocation({ root: "r", blobs: "gs://bucket" })).toThrow("unsupported blob location");
  expect(redact("postgresql://u:p@h/d")).toBe("postgresql://u:***@h/d");
  expect(redact("postgres://h/d")).toBe("postgres://h/d");
});

test("sizes", () => {
  expect([parseSize("16MiB", "--s3-part-size"), parseSize("8M", "x"), parseSize("5242880", "x"), parseSize("1GiB", "x")]).toEqual([
    16 * 1024 ** 2,
    8 * 1024 ** 2,
    5242880,
    1024 ** 3,
  ]);
  for (const bad of ["", "16 MiB", "1.5M", "-1", "M"]) expect(() => parseSize(bad, "x")).toThrow(UsageError);
});

test("SigV4 follows the published example (AWS S3 docs, GET Object with a Range)", () => {
  const headers = signRequest({
    method: "GET",
    url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
    region: "us-east-1",
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
    headers: { range: "bytes=0-9" },
    payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    now: new Date("2013-05-24T00:00:00Z"),
  });
  expect(headers.authorization).toBe(
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

test("serve refuses a bad store location with one line and exit code 2, before listening", async () => {
  const cases = [
    [["--metadata", "mysql://db/x"], "unsupported metadata database"],
    [["--blobs", "s3://Bad_Bucket"], "invalid bucket name"],
    [["--blobs", "s3://bucket"], "no S3 credentials"],
    [["--blob-redirect"], "--blob-redirect needs blobs in an object store"],
    [["--blobs", "s3://bucket", "--s3-part-size", "lots"], "invalid --s3-part-size"],
  ] as const;
  for (const [args, message] of cases) {
    const out = await stevedore(["serve", "--addr", "127.0.0.1:0", "--root", "/nonexistent/never-created", ...args], undefined, { PATH: process.env.PATH ?? "" });
    expect([out.code, out.stderr.split("\n").filter(Boolean).length, out.stderr.includes(message)]).toEqual([2, 1, true]);
  }
});
