/** oci: layouts as other tools write them, concurrent writers, and broken layouts. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodedOf, verifyStream } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { OciLayoutHome } from "../../../src/transports/layout/oci-layout-home.ts";
import { repositoryFromPath, splitRefName } from "../../../src/transports/layout/ref-name.ts";
import { generateImage, writeOciLayout } from "../../helpers/images.ts";
import { runReadContract } from "../../helpers/home-contract.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-layout-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

let counter = 0;
const fresh = () => join(root, `l${counter++}`);

runReadContract("oci: with full references (stevedore bundles)", async (images) => {
  const dir = fresh();
  await writeOciLayout(dir, images, { refName: "full" });
  return { home: await OciLayoutHome.open(dir), repository: (name) => name };
});

runReadContract("oci: with repo:tag names as skopeo writes them", async (images) => {
  const dir = fresh();
  await writeOciLayout(dir, images, { refName: "full" });
  await rewriteIndex(dir, (m) => ({ ...m, annotations: { "org.opencontainers.image.ref.name": shortName(m.annotations["org.opencontainers.image.ref.name"]) } }));
  return { home: await OciLayoutHome.open(dir), repository: (name) => shortName(name) };
});

runReadContract("oci: with containerd names and bare-tag ref.name", async (images) => {
  const dir = fresh();
  await writeOciLayout(dir, images, { refName: "full" });
  await rewriteIndex(dir, (m) => {
    const full = m.annotations["org.opencontainers.image.ref.name"];
    return { ...m, annotations: { "io.containerd.image.name": full, "org.opencontainers.image.ref.name": full.split(":").pop() } };
  });
  return { home: await OciLayoutHome.open(dir), repository: (name) => name };
});

describe("ref.name", () => {
  test.each([
    ["docker.io/library/nginx:1.25", { repository: "docker.io/library/nginx", tag: "1.25", bare: false }],
    ["nginx:1.25", { repository: "nginx", tag: "1.25", bare: false }],
    ["localhost:5000/a/b:v1", { repository: "localhost:5000/a/b", tag: "v1", bare: false }],
    ["1.25", { repository: "bundle", tag: "1.25", bare: true }],
    ["latest", { repository: "bundle", tag: "latest", bare: true }],
    [`acme/app@sha256:${"a".repeat(64)}`, { repository: "acme/app", bare: false }],
    ["Not A Name!", undefined],
    ["acme/UPPER:1", undefined],
    ["UPPER/case:1", { repository: "UPPER/case", tag: "1", bare: false }],
  ] as const)("%p", (value, expected) => {
    expect(splitRefName(value, "bundle")).toEqual(expected as never);
  });

  test.each([
    ["/media/bundle", "bundle"],
    ["/media/My App-1.2.tar", "my-app-1.2"],
    ["./images.oci/", "images"],
    ["/x/__--..", "image"],
    ["release_7.1.tar.gz", "release_7.1"],
    ["a-.b", "a.b"],
  ])("repository for bare tags from %p is %p", (path, expected) => {
    expect(repositoryFromPath(path)).toBe(expected);
  });

  test("a bare-tag entry belongs to the tag repository, and writes back bare", async () => {
    const dir = join(fresh(), "my-bundle");
    const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "bare" });
    await writeOciLayout(dir, [image], { refName: "tag" });
    const home = await OciLayoutHome.open(dir);
    expect(home.tagRepository).toBe("my-bundle");
    expect(await home.repositories()).toEqual(["my-bundle"]);
    expect((await home.resolve("my-bundle", "1.0")).digest).toBe(image.descriptor.digest);
    await home.putManifest("my-bundle", "1.1", { bytes: image.bytes, mediaType: image.descriptor.mediaType });
    const named = await OciLayoutHome.open(dir, { tagRepository: "acme/app" });
    expect(await named.tags("acme/app")).toEqual(["1.0", "1.1"]);
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"])).toEqual(["1.0", "1.1"]);
  });
});

describe("writing", () => {
  test("two processes writing one layout: every entry lands, no temp files are left", async () => {
    const dir = fresh();
    const script = join(import.meta.dir, "layout-writer-process.ts");
    const procs = ["acme/one", "acme/two", "acme/three"].map((prefix) =>
      Bun.spawn([process.execPath, script, dir, prefix, "15"], { stdout: "pipe", stderr: "pipe" }),
    );
    const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })));
    expect(results).toEqual(procs.map(() => ({ code: 0, err: "" })));
    const home = await OciLayoutHome.open(dir);
    expect(await home.repositories()).toEqual(["docker.io/acme/one", "docker.io/acme/three", "docker.io/acme/two"]);
    for (const repo of await home.repositories()) expect((await home.tags(repo)).length).toBe(15);
    expect((await readdir(dir)).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
  });

  test("a new tag for a name replaces the entry in place", async () => {
    const dir = fresh();
    const home = await OciLayoutHome.open(dir, { create: true });
    const a = await generateImage({ seed: "replace-a" });
    const b = await generateImage({ seed: "replace-b" });
    for (const img of [a, b]) for (const blob of img.blobs) await home.putBlob("x", blob.descriptor, new Blob([blob.bytes]));
    const put = (img: typeof a, tag: string) => home.putManifest("docker.io/acme/x", tag, { bytes: img.bytes, mediaType: img.descriptor.mediaType });
    await put(a, "1");
    await put(a, "2");
    await put(b, "1");
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    expect(index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [m.annotations["org.opencontainers.image.ref.name"], m.digest])).toEqual([
      ["docker.io/acme/x:1", b.descriptor.digest],
      ["docker.io/acme/x:2", a.descriptor.digest],
    ]);
  });

  test("unknown fields of index.json survive a rewrite", async () => {
    const dir = fresh();
    const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "fields" });
    await writeOciLayout(dir, [image]);
    await rewriteIndex(dir, (m) => m, { annotations: { "com.example.keep": "yes" }, extra: 1 });
    const home = await OciLayoutHome.open(dir);
    await home.putManifest("docker.io/acme/app", "1.1", { bytes: image.bytes, mediaType: image.descriptor.mediaType });
    const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
    expect({ annotations: index.annotations, extra: index.extra, count: index.manifests.length }).toEqual({ annotations: { "com.example.keep": "yes" }, extra: 1, count: 2 });
  });

  test("index.json replaced by another writer: a reader sees it at once, a snapshot (a sync source) keeps what it opened, and sees its own writes", async () => {
    const dir = fresh();
    const a = await generateImage({ name: "docker.io/acme/app:1.0", seed: "snapshot-a" });
    const b = await generateImage({ name: "docker.io/acme/app:2.0", seed: "snapshot-b" });
    await writeOciLayout(dir, [a, b]);
    const reader = await OciLayoutHome.open(dir);
    const snapshot = await OciLayoutHome.open(dir, { snapshot: true });
    const other = await OciLayoutHome.open(dir);
    await other.putManifest("docker.io/acme/app", "3.0", { bytes: a.bytes, mediaType: a.descriptor.mediaType });
    expect(await reader.tags("docker.io/acme/app")).toEqual(["1.0", "2.0", "3.0"]);
    expect(await snapshot.tags("docker.io/acme/app")).toEqual(["1.0", "2.0"]);
    await snapshot.putManifest("docker.io/acme/app", "4.0", { bytes: b.bytes, mediaType: b.descriptor.mediaType });
    expect(await snapshot.tags("docker.io/acme/app")).toEqual(["1.0", "2.0", "3.0", "4.0"]);
  });

  test("creating a layout in an empty directory; refusing a directory that is not a layout", async () => {
    const empty = fresh();
    await mkdir(empty);
    await OciLayoutHome.open(empty, { create: true });
    expect(JSON.parse(await readFile(join(empty, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    const other = fresh();
    await mkdir(other);
    await writeFile(join(other, "notes.txt"), "mine");
    await expect(OciLayoutHome.open(other, { create: true })).rejects.toThrow(/not an OCI image layout \(no oci-layout file\)/);
  });

  test("a creation killed before its oci-layout file is finished by the next one; anything else without that file stays refused", async () => {
    // What a kill -9 between index.json and oci-layout leaves.
    const half = fresh();
    await OciLayoutHome.open(half, { create: true });
    await rm(join(half, "oci-layout"));
    await OciLayoutHome.open(half, { create: true });
    expect((await readdir(half)).sort()).toEqual(["blobs", "index.json", "oci-layout"]);
    const withBlob = fresh();
    await OciLayoutHome.open(withBlob, { create: true });
    await rm(join(withBlob, "oci-layout"));
    await writeFile(join(withBlob, "blobs", "sha256", "ab"), "x");
    await expect(OciLayoutHome.open(withBlob, { create: true })).rejects.toThrow(/no oci-layout file/);
    const otherIndex = fresh();
    await mkdir(join(otherIndex, "blobs"), { recursive: true });
    await writeFile(join(otherIndex, "index.json"), '{"schemaVersion":2,"manifests":[{"digest":"x"}]}');
    await expect(OciLayoutHome.open(otherIndex, { create: true })).rejects.toThrow(/no oci-layout file/);
  });
});

describe("broken layouts", () => {
  async function layoutWith(change: (dir: string) => Promise<void>) {
    const dir = fresh();
    const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "broken" });
    await writeOciLayout(dir, [image]);
    await change(dir);
    return { dir, image };
  }

  test.each([
    ["index.json is not JSON", (dir: string) => writeFile(join(dir, "index.json"), "{oops"), /index.json is not valid JSON/],
    ["index.json is not an index", (dir: string) => writeFile(join(dir, "index.json"), '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}'), /index.json is not an OCI image index: manifests.0/],
    ["index.json is missing", (dir: string) => rm(join(dir, "index.json")), /index.json is missing/],
    ["oci-layout is wrong", (dir: string) => writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"2.0.0"}'), /unsupported image layout version "2.0.0"/],
    ["oci-layout is garbage", (dir: string) => writeFile(join(dir, "oci-layout"), "garbage"), /oci-layout is not/],
  ])("%s", async (_, change, message) => {
    const { dir } = await layoutWith(change);
    const error = await OciLayoutHome.open(dir).catch((e) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`oci:${dir}`);
  });

  test("a missing directory", async () => {
    await expect(OciLayoutHome.open(join(root, "nope"))).rejects.toThrow(/no such directory/);
  });

  test("a blob whose bytes do not match its digest is served, and fails the consumer's verification", async () => {
    const { dir, image } = await layoutWith(async () => {});
    const layer = image.blobs[1]!;
    const path = join(dir, "blobs", "sha256", encodedOf(layer.descriptor.digest));
    const bytes = new Uint8Array(layer.bytes);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(path, bytes);
    const home = await OciLayoutHome.open(dir);
    const blob = await home.blob("docker.io/acme/app", layer.descriptor.digest);
    const verified = blob.stream().pipeThrough(verifyStream(layer.descriptor));
    await expect(new Response(verified).arrayBuffer()).rejects.toThrow(/digest mismatch/);
  });

  test("a manifest whose bytes do not match its digest is refused", async () => {
    const { dir, image } = await layoutWith(async () => {});
    await writeFile(join(dir, "blobs", "sha256", encodedOf(image.descriptor.digest)), new TextEncoder().encode('{"schemaVersion":2}'));
    const home = await OciLayoutHome.open(dir);
    const error = await home.manifest("docker.io/acme/app", "1.0").catch((e) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain("is corrupt");
  });

  test("a tag whose manifest blob is missing is MANIFEST_UNKNOWN", async () => {
    const { dir, image } = await layoutWith(async () => {});
    await rm(join(dir, "blobs", "sha256", encodedOf(image.descriptor.digest)));
    const home = await OciLayoutHome.open(dir);
    const error = await home.manifest("docker.io/acme/app", "1.0").catch((e) => e);
    expect(error.code).toBe("MANIFEST_UNKNOWN");
  });
});

function shortName(name: string): string {
  return name.replace(/^docker\.io\/(library\/)?/, "");
}

async function rewriteIndex(dir: string, change: (m: any) => any, extra: Record<string, unknown> = {}): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  index.manifests = index.manifests.map(change);
  await writeFile(join(dir, "index.json"), JSON.stringify({ ...index, ...extra }));
}
