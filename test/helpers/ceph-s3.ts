/**
 * A real S3 server for tests: a single-node Ceph cluster with radosgw,
 * started once per test process by the shared scripts beside the project
 * (`../shared/scripts/ceph-s3-start.sh`, which installs the Debian
 * packages when missing) on free loopback ports, and stopped (data
 * purged) when the process ends. Each caller gets a bucket of its own:
 *
 *   const s3 = await cephBucket();
 *   s3.url      // "s3://t-…"
 *   s3.env      // AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, … for `stevedore serve`
 *
 * Throws (the test fails) when Ceph cannot start.
 */
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseS3Location } from "../../src/store/s3-location.ts";
import { S3Bucket } from "../../src/store/s3-bucket.ts";
import { freePort, onProcessEnd, sh } from "./janitor.ts";

const SCRIPTS = resolve(import.meta.dir, "../../../shared/scripts");

export interface CephS3 {
  /** The cluster's data dir (pids/ holds its daemons' pids). */
  dir: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The variables `stevedore serve --blobs s3://…` reads. */
  env: Record<string, string>;
}

export interface TestBucket extends CephS3 {
  bucket: string;
  /** `s3://bucket` */
  url: string;
  /** The bucket, for looking at what the store wrote. */
  client: S3Bucket;
}

let ceph: Promise<CephS3> | undefined;

/** The Ceph this test process shares (started on first use, 5-20 s; longer when packages must be installed). */
export function startCeph(): Promise<CephS3> {
  ceph ??= start();
  return ceph;
}

/** A new, empty bucket. */
export async function cephBucket(prefix = "t"): Promise<TestBucket> {
  const s3 = await startCeph();
  const bucket = `${prefix}-${crypto.randomUUID().slice(0, 13)}`;
  const client = new S3Bucket(parseS3Location(`s3://${bucket}`, { env: s3.env }));
  await client.createBucket();
  return { ...s3, bucket, url: `s3://${bucket}`, client };
}

async function start(): Promise<CephS3> {
  const startScript = resolve(SCRIPTS, "ceph-s3-start.sh");
  if (!existsSync(startScript)) throw new Error(`Ceph start script not found at ${startScript}`);
  // Short: the admin sockets inside must fit a unix socket path.
  const dir = mkdtempSync("/tmp/sv-ceph-");
  // The stop script is copied beside the cluster: the checkout it came from
  // may be gone by the time this process has ended and the clean-up runs.
  const stopScript = join(dir, "ceph-s3-stop.sh");
  copyFileSync(resolve(SCRIPTS, "ceph-s3-stop.sh"), stopScript);
  onProcessEnd(`bash ${sh(stopScript)} ${sh(dir)} --purge >/dev/null 2>&1`);
  const child = Bun.spawn(["bash", startScript, dir], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: {
      ...process.env,
      CEPH_S3_RGW_PORT: String(freePort()),
      CEPH_S3_MON_PORT: String(freePort()),
      CEPH_S3_OSD_SIZE: "20G",
    },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`Ceph did not start (exit ${code}):\n${stderr.slice(-3000)}${stdout.slice(-1000)}`);
  const vars = Object.fromEntries(
    (await Bun.file(resolve(dir, "s3.env")).text())
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const endpoint = vars.S3_ENDPOINT;
  const accessKeyId = vars.AWS_ACCESS_KEY_ID;
  const secretAccessKey = vars.AWS_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) throw new Error(`Ceph started but ${dir}/s3.env lacks endpoint or keys`);
  const region = vars.S3_REGION ?? "us-east-1";
  return {
    dir,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: region, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
  };
}
