/**
 * Three `stevedore serve` processes on their own ports, sharing one
 * PostgreSQL database and one Ceph RGW bucket, as nodes behind a load
 * balancer would: an upload's chunks land on different processes, images
 * pushed through one are pulled through the others (streamed, or
 * redirected to the object store), deletes through a third show
 * everywhere, gc in one process runs while the others take pushes, skopeo
 * round-trips through each, and kill -9 of a process loses nothing
 * committed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { type Digest, digestOf } from "../../src/digest/index.ts";
import { type GeneratedManifest, generateImage, generateLayer, generateRelease, randomBytes, writeOciLayout } from "../helpers/images.ts";
import { PushClient, PushError, treeBlobs, UPLOAD_STYLES } from "../helpers/push-client.ts";
import { skopeo } from "../helpers/skopeo.ts";
import { type RunningServe, startServe } from "../helpers/stevedore-serve.ts";
import { type SharedStoreLocation, sharedStoreLocation } from "../helpers/test-store.ts";

const MiB = 1024 * 1024;
const TOKEN = "scale-out-admin-token-0123456789";

let location: SharedStoreLocation;
let sql: SQL;
let dir: string;
/** A, B, C: A also serves the admin API; C redirects blob GETs to the object store. */
let serves: RunningServe[] = [];
let admin: string;

function serveArgs(extra: string[] = []): string[] {
  return ["--metadata", location.databaseUrl, "--blobs", location.bucket.url, "--s3-part-size", "5MiB", ...extra];
}

function start(extra: string[] = []): Promise<RunningServe> {
  return startServe({ args: serveArgs(extra), env: location.bucket.env });
}

beforeAll(async () => {
  location = await sharedStoreLocation();
  sql = new SQL(location.databaseUrl);
  dir = mkdtempSync(join(tmpdir(), "stevedore-scale-"));
  const tokenFile = join(dir, "admin-token");
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  serves = await Promise.all([
    start(["--admin-addr", "127.0.0.1:0", "--admin-token-file", tokenFile]),
    start(),
    start(["--blob-redirect"]),
  ]);
  admin = (await serves[0]!.waitFor(/admin API on (\S+)/))[1]!;
}, 600_000);

afterAll(async () => {
  await Promise.all(serves.map((s) => s.stop()));
  await sql?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const client = (s: RunningServe) => new PushClient(s.url);

async function status(response: Response): Promise<number> {
  await response.arrayBuffer();
  return response.status;
}

test("each process says which store it uses", () => {
  const store = new RegExp(`metadata in postgres://postgres@127\\.0\\.0\\.1:\\d+/\\w+; blobs in ${location.bucket.url} at ${location.bucket.endpoint}`);
  for (const s of serves) expect(s.log()).toMatch(store);
  expect(serves[2]!.log()).toContain("(GETs redirected)");
});

describe("one upload, chunks through every process", () => {
  test("POST on one, PATCHes on the others, PUT on yet another: one verified blob, visible everywhere", async () => {
    const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
    const data = randomBytes("chunks", 12 * MiB + 123);
    const digest = digestOf(data);
    const post = await fetch(`${a.url}/v2/chunks/app/blobs/uploads/`, { method: "POST" });
    expect(post.status).toBe(202);
    expect(post.headers.get("oci-chunk-min-length")).toBe(String(5 * MiB));
    let path = post.headers.get("location")!;
    // Across the first part boundary, a small chunk (kept as a tail), then most of the rest.
    const cuts = [
      [b, 0, 6 * MiB + 1],
      [c, 6 * MiB + 1, 6 * MiB + 100_001],
      [a, 6 * MiB + 100_001, data.byteLength - 1000],
    ] as const;
    for (const [serve, from, to] of cuts) {
      const patch = await fetch(`${serve.url}${path}`, {
        method: "PATCH",
        body: data.subarray(from, to),
        headers: { "Content-Range": `${from}-${to - 1}`, "Content-Type": "application/octet-stream" },
      });
      expect([serve.port, await status(patch), patch.headers.get("range")]).toEqual([serve.port, 202, `0-${to - 1}`]);
      path = patch.headers.get("location")!;
      const state = await fetch(`${c.url}${path}`);
      expect([await status(state), state.headers.get("range")]).toEqual([204, `0-${to - 1}`]);
    }
    const put = await fetch(`${b.url}${path}${path.includes("?") ? "&" : "?"}digest=${digest}`, {
      method: "PUT",
      body: data.subarray(data.byteLength - 1000),
      headers: { "Content-Range": `${data.byteLength - 1000}-${data.byteLength - 1}` },
    });
    expect(await status(put)).toBe(201);
    for (const s of [a, b]) await client(s).pullBlob("chunks/app", digest, data.byteLength);
    // C redirects to a presigned URL of the bucket; ranges work there too.
    const redirect = await fetch(`${c.url}/v2/chunks/app/blobs/${digest}`, { redirect: "manual" });
    expect([await status(redirect), redirect.headers.get("docker-content-digest")]).toEqual([307, digest]);
    const target = redirect.headers.get("location")!;
    expect(target.startsWith(location.bucket.endpoint)).toBe(true);
    expect(digestOf(new Uint8Array(await (await fetch(target)).arrayBuffer()))).toBe(digest);
    const ranged = await fetch(`${c.url}/v2/chunks/app/blobs/${digest}`, { headers: { Range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` } });
    expect([ranged.status, new Uint8Array(await ranged.arrayBuffer())]).toEqual([206, data.subarray(5 * MiB - 2, 5 * MiB + 2)]);
    // Nothing staged is left in the bucket or the database.
    const staged: string[] = [];
    for await (const o of location.bucket.client.list("uploads/")) staged.push(o.key);
    expect(staged).toEqual([]);
    expect(await sql`SELECT id FROM staged_uploads`).toEqual([]);
  });

  test("while one process writes a session, a chunk for it on another is 416 with the current Range", async () => {
    const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
    const data = randomBytes("busy", 2 * MiB);
    const post = await fetch(`${a.url}/v2/chunks/busy/blobs/uploads/`, { method: "POST" });
    const path = post.headers.get("location")!;
    const id = post.headers.get("docker-upload-uuid")!;
    await post.arrayBuffer();
    const { promise: hold, resolve: release } = Promise.withResolvers<void>();
    let sent = false;
    const slow = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(data.subarray(0, MiB));
          return;
        }
        await hold;
        controller.enqueue(data.subarray(MiB));
        controller.close();
      },
    });
    const writing = fetch(`${b.url}${path}`, { method: "PATCH", body: slow, headers: { "Content-Type": "application/octet-stream" } });
    // B holds the session's lease once its row is there.
    for (let i = 0; (await sql`SELECT 1 AS x FROM upload_writers WHERE id = ${id}`).length === 0; i++) {
      if (i > 500) throw new Error("the writer never took the session's lease");
      await Bun.sleep(10);
    }
    const refused = await fetch(`${c.url}${path}`, { method: "PATCH", body: data.subarray(0, 10), headers: { "Content-Range": "0-9" } });
    expect([await status(refused), refused.headers.get("range")]).toEqual([416, "0-0"]);
    release();
    const done = await writing;
    expect([await status(done), done.headers.get("range")]).toEqual([202, `0-${data.byteLength - 1}`]);
    const put = await fetch(`${c.url}${path}${path.includes("?") ? "&" : "?"}digest=${digestOf(data)}`, { method: "PUT" });
    expect(await status(put)).toBe(201);
  });
});

describe("images across processes", () => {
  let release: GeneratedManifest[];

  beforeAll(async () => {
    release = await generateRelease({ seed: "scale-out", images: 3, layerSize: 256 * 1024 });
  });

  test("pushed through one, pulled through the others (streamed and redirected); the catalog and tags agree", async () => {
    const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
    for (const [i, image] of release.entries()) {
      await client(a).pushImage(`rel/img-${i}`, "1.0", image, UPLOAD_STYLES[i % UPLOAD_STYLES.length]!);
    }
    for (const s of [b, c]) {
      for (const [i, image] of release.entries()) await client(s).pullImage(`rel/img-${i}`, "1.0", image.descriptor.digest);
    }
    const catalogs = await Promise.all(serves.map(async (s) => (await (await fetch(`${s.url}/v2/_catalog`)).json()) as { repositories: string[] }));
    for (const catalog of catalogs) expect(catalog).toEqual(catalogs[0]!);
    expect(catalogs[0]!.repositories).toEqual(expect.arrayContaining(release.map((_, i) => `rel/img-${i}`)));
  });

  test("deleted through a third: gone everywhere", async () => {
    const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
    const image = release[0]!;
    expect(await status(await fetch(`${c.url}/v2/rel/img-0/manifests/${image.descriptor.digest}`, { method: "DELETE" }))).toBe(202);
    for (const s of [a, b, c]) {
      expect(await status(await fetch(`${s.url}/v2/rel/img-0/manifests/1.0`))).toBe(404);
      expect(await status(await fetch(`${s.url}/v2/rel/img-0/manifests/${image.descriptor.digest}`, { method: "HEAD" }))).toBe(404);
      expect(((await (await fetch(`${s.url}/v2/rel/img-0/tags/list`)).json()) as { tags: string[] }).tags).toEqual([]);
    }
  });
});

describe("gc in one process while the others take pushes", () => {
  test("garbage goes; every image whose push was acknowledged pulls whole through every process", async () => {
    const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
    const garbage = await Promise.all([0, 1, 2].map((i) => generateImage({ seed: `garbage-${i}`, layers: 2, layerSize: 64 * 1024 })));
    const revived = await generateImage({ seed: "revived", layers: 2, layerSize: 64 * 1024 });
    for (const [i, image] of [...garbage, revived].entries()) {
      await client(b).pushImage(`gc/img-${i}`, "old", image, "post-put");
      expect(await status(await fetch(`${c.url}/v2/gc/img-${i}/manifests/${image.descriptor.digest}`, { method: "DELETE" }))).toBe(202);
    }
    const revivedRepository = `gc/img-${garbage.length}`;
    // gc leaves alone what is younger than its grace window: let the garbage age past it.
    const graceSeconds = 1;
    await Bun.sleep(graceSeconds * 1000 + 100);

    const job = await fetch(`${admin}/api/v1/gc`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ graceSeconds }),
    });
    expect(job.status).toBe(202);
    const { job: started } = (await job.json()) as { job: { id: string } };

    // Pushes through B and C until gc is done: new images, and the one gc is about to collect, again.
    const acknowledged: { repository: string; tag: string; image: GeneratedManifest }[] = [];
    let finished = false;
    const pusher = async (serve: RunningServe, name: string) => {
      for (let round = 0; !finished || round < 2; round++) {
        const image = round % 2 === 0 ? await generateImage({ seed: `${name}-${round}`, layers: 1, layerSize: 32 * 1024 }) : revived;
        const repository = image === revived ? revivedRepository : `gc/${name}`;
        const tag = `r${round}`;
        // A client whose blobs gc took between its HEAD and its manifest pushes again, as skopeo or docker would.
        for (let attempt = 0; ; attempt++) {
          try {
            await client(serve).pushImage(repository, tag, image, UPLOAD_STYLES[round % UPLOAD_STYLES.length]!);
            acknowledged.push({ repository, tag, image });
            break;
          } catch (error) {
            if (!(error instanceof PushError) || attempt >= 3 || ![400, 503].includes(error.status ?? 0)) throw error;
          }
        }
      }
    };
    const pushing = Promise.all([pusher(b, "pb"), pusher(c, "pc")]);
    let state: { state: string; report?: { blobs: { digests: Digest[] } }; error?: unknown };
    for (;;) {
      const response = await fetch(`${admin}/api/v1/jobs/${started.id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      state = ((await response.json()) as { job: typeof state }).job;
      if (!["queued", "running"].includes(state.state)) break;
      await Bun.sleep(50);
    }
    finished = true;
    await pushing;
    expect(state.state).toBe("succeeded");

    for (const { repository, tag, image } of acknowledged) {
      for (const s of serves) await client(s).pullImage(repository, tag, image.descriptor.digest);
    }
    const live = new Set(acknowledged.flatMap(({ image }) => treeBlobs(image).map((blob) => blob.descriptor.digest)));
    const collected = garbage.flatMap((image) => image.blobs.map((blob) => blob.descriptor.digest)).filter((d) => !live.has(d));
    expect(state.report?.blobs.digests).toEqual(expect.arrayContaining(collected));
    for (const digest of collected) expect([digest, await location.bucket.client.stat(blobKey(digest))]).toEqual([digest, undefined]);
  });
});

test("skopeo round trips through each process", async () => {
  const big = await generateLayer({ seed: "skopeo-big", size: 7 * MiB });
  const image = await generateImage({ name: "example.com/sk/app:1.0", seed: "skopeo", baseLayers: [big], layers: 1, layerSize: 4096 });
  const layout = join(dir, "skopeo-in");
  await writeOciLayout(layout, [image], { refName: "tag" });
  for (const [i, s] of serves.entries()) {
    const next = serves[(i + 1) % serves.length]!;
    const pushed = await skopeo(["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:1.0`, `docker://${s.host}/sk/app-${i}:1.0`]);
    expect([s.port, pushed.code, pushed.stderr]).toEqual([s.port, 0, ""]);
    const out = join(dir, `skopeo-out-${i}`);
    const pulled = await skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${next.host}/sk/app-${i}:1.0`, `oci:${out}:1.0`]);
    expect([next.port, pulled.code, pulled.stderr]).toEqual([next.port, 0, ""]);
    const index = JSON.parse(await Bun.file(join(out, "index.json")).text()) as { manifests: { digest: Digest }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([image.descriptor.digest]);
    expect(await Bun.file(join(out, "blobs", "sha256", big.descriptor.digest.slice(7))).size).toBe(big.descriptor.size);
  }
}, 180_000);

test("kill -9 of a process loses nothing committed; its upload goes on through another", async () => {
  const [a, b, c] = serves as [RunningServe, RunningServe, RunningServe];
  const image = await generateImage({ seed: "kill", layers: 2, layerSize: 128 * 1024 });
  await client(b).pushImage("kill/app", "1.0", image, "chunked");
  const data = randomBytes("kill-upload", 6 * MiB);
  const post = await fetch(`${b.url}/v2/kill/blob/blobs/uploads/`, { method: "POST" });
  const path = post.headers.get("location")!;
  await post.arrayBuffer();
  const first = await fetch(`${b.url}${path}`, { method: "PATCH", body: data.subarray(0, 5 * MiB + 7), headers: { "Content-Range": `0-${5 * MiB + 6}` } });
  expect(await status(first)).toBe(202);
  // Mid-request too: a second session's PATCH is streaming when the process dies.
  const other = await fetch(`${b.url}/v2/kill/other/blobs/uploads/`, { method: "POST" });
  const otherPath = other.headers.get("location")!;
  await other.arrayBuffer();
  let sent = false;
  const endless = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sent) controller.enqueue(randomBytes("endless", MiB));
      sent = true;
      await new Promise(() => undefined);
    },
  });
  const dying = fetch(`${b.url}${otherPath}`, { method: "PATCH", body: endless }).catch((error: Error) => error);
  await b.kill();
  expect(await dying).toBeInstanceOf(Error);

  for (const s of [a, c]) await client(s).pullImage("kill/app", "1.0", image.descriptor.digest);
  const rest = await fetch(`${a.url}${path}`, { method: "PATCH", body: data.subarray(5 * MiB + 7), headers: { "Content-Range": `${5 * MiB + 7}-${data.byteLength - 1}` } });
  expect(await status(rest)).toBe(202);
  const put = await fetch(`${c.url}${rest.headers.get("location")!}${path.includes("?") ? "&" : "?"}digest=${digestOf(data)}`, { method: "PUT" });
  expect(await status(put)).toBe(201);
  await client(a).pullBlob("kill/blob", digestOf(data), data.byteLength);
  // A new process on the same store serves all of it.
  serves[1] = await start();
  await client(serves[1]).pullImage("kill/app", "1.0", image.descriptor.digest);
  await client(serves[1]).pullBlob("kill/blob", digestOf(data), data.byteLength);
});

function blobKey(digest: Digest): string {
  const hex = digest.slice("sha256:".length);
  return `blobs/sha256/${hex.slice(0, 2)}/${hex}`;
}
