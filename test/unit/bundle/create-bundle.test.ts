/**
 * createBundle, inspectBundle and verifyBundle in-process, reading images
 * from an OCI layout of full names instead of registries: what lands in
 * the tar and the directory, reproducibility, re-runs, deltas, failures.
 * (Registries as the source, skopeo and sync are in test/integration/bundle.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BundleSummary,
  createBundle,
  type CreateBundleOptions,
  type ImageRequest,
  imagesFromArguments,
  inspectBundle,
  verifyBundle,
} from "../../../src/bundle/index.ts";
import { type Digest, digestOf, encodedOf } from "../../../src/digest/index.ts";
import { type ImageReader, parsePlatform } from "../../../src/oci/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import { type DestinationEndpoint, OciLayoutHome, openSource, TarIndex } from "../../../src/transports/index.ts";
import {
  allBlobs,
  allManifests,
  generateImage,
  generateLayer,
  generateRelease,
  type GeneratedManifest,
  type Layer,
  writeOciLayout,
} from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";

const dir = mkdtempSync(join(tmpdir(), "bundle-create-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let release: GeneratedManifest[];
let upstream: OciLayoutHome;
const names = () => release.map((r) => r.name!);

beforeAll(async () => {
  release = await generateRelease({ layerSize: 4096, images: 4 });
  await writeOciLayout(join(dir, "upstream"), release);
  upstream = await OciLayoutHome.open(join(dir, "upstream"));
});

function create(images: string[] | ImageRequest[], output: string, options: Partial<CreateBundleOptions> = {}): Promise<BundleSummary> {
  const requests = typeof images[0] === "string" ? imagesFromArguments(images as string[]) : (images as ImageRequest[]);
  return createBundle({
    images: requests,
    output,
    format: output.endsWith(".tar") ? "archive" : "directory",
    from: upstream,
    ...options,
  });
}

const sha256 = async (path: string) => digestOf(await Bun.file(path).bytes());
const uniqueCount = (items: GeneratedManifest[]) => allBlobs(items).length + allManifests(items).length;

describe("create", () => {
  test("a tar: every image named by its full reference, each blob once, in the documented order", async () => {
    const out = join(dir, "release.tar");
    const summary = await create(names(), out);
    expect(summary.blobs).toBe(uniqueCount(release));
    expect(summary.images.map((i) => `${i.name} ${i.digest}`)).toEqual(release.map((r) => `${r.name} ${r.descriptor.digest}`).sort());
    expect(summary.dockerImages).toBe(4); // the apps; not the multi-arch index, not the signature
    const tar = await TarIndex.open(out);
    const order = [...tar.entries.keys()];
    expect(order.slice(0, 5)).toEqual(["oci-layout", "index.json", "manifest.json", "blobs", "blobs/sha256"]);
    const blobs = order.slice(5);
    expect(blobs).toEqual([...blobs].sort());
    expect(blobs.length).toBe(uniqueCount(release));
    const index = JSON.parse(await tar.file("index.json")!.text());
    expect(index.manifests[0]).toEqual({
      mediaType: release[0]!.descriptor.mediaType,
      digest: release[0]!.descriptor.digest,
      size: release[0]!.descriptor.size,
      annotations: { "io.containerd.image.name": release[0]!.name, "org.opencontainers.image.ref.name": release[0]!.name },
    });
    const docker = JSON.parse(await tar.file("manifest.json")!.text());
    expect(docker[0]).toEqual({
      Config: `blobs/sha256/${encodedOf(release[0]!.blobs[0]!.descriptor.digest)}`,
      RepoTags: [release[0]!.name],
      Layers: release[0]!.blobs.slice(1).map((b) => `blobs/sha256/${encodedOf(b.descriptor.digest)}`),
    });
    expect(readdirSync(dir).filter((n) => n.startsWith(".release.tar"))).toEqual([]);
  });

  test("reproducible: the same images give the same bytes; a directory holds the same index.json", async () => {
    const a = join(dir, "a.tar");
    const b = join(dir, "b.tar");
    await create(names(), a);
    await create([...names()].reverse(), b, { parallel: 1 });
    expect(await sha256(a)).toBe(await sha256(b));
    const d = join(dir, "as-dir");
    const summary = await create(names(), d);
    const tar = await TarIndex.open(a);
    expect(await Bun.file(join(d, "index.json")).text()).toBe(await tar.file("index.json")!.text());
    expect(await Bun.file(join(d, "manifest.json")).text()).toBe(await tar.file("manifest.json")!.text());
    expect(summary.index).toBe(digestOf(await tar.file("index.json")!.bytes()));
  });

  test("a re-run moves nothing; a new image moves only its own blobs; force-pull moves all; a dropped image's blobs go", async () => {
    const d = join(dir, "rerun");
    const first = await create(names().slice(0, 2), d);
    expect(first.copy.blobs.pushed).toBe(allBlobs(release.slice(0, 2)).length);
    const again = await create(names().slice(0, 2), d);
    expect(again.copy.blobs).toEqual({ pushed: 0, mounted: 0, skipped: 0 });
    const more = await create(names().slice(0, 3), d);
    const known = new Set(allBlobs(release.slice(0, 2)).map((b) => b.descriptor.digest));
    expect(more.copy.blobs.pushed).toBe(allBlobs([release[2]!]).filter((b) => !known.has(b.descriptor.digest)).length);
    const forced = await create(names().slice(0, 3), d, { forcePull: true });
    expect(forced.copy.blobs.pushed).toBe(allBlobs(release.slice(0, 3)).length);
    const fewer = await create(names().slice(1, 3), d);
    expect(fewer.removed).toBe(uniqueCount(release.slice(0, 3)) - uniqueCount(release.slice(1, 3)));
    expect((await verifyBundle(d)).problems).toEqual([]);
    // The same into a tar: its blobs are taken from the tar it replaces.
    const t = join(dir, "rerun.tar");
    await create(names().slice(0, 2), t);
    const before = await sha256(t);
    const tarAgain = await create(names().slice(0, 2), t);
    expect(tarAgain.copy.blobs.pushed).toBe(0);
    expect(await sha256(t)).toBe(before);
    expect((await create(names().slice(0, 2), t, { forcePull: true })).copy.blobs.pushed).toBe(allBlobs(release.slice(0, 2)).length);
  });

  test("platforms: the run's --platform, an image's own, and one platform becoming docker-loadable", async () => {
    const multi = release.find((r) => r.name!.includes("multi"))!;
    const arm = multi.children[1]!;
    const out = join(dir, "arm.tar");
    const requests = imagesFromArguments([multi.name!]).map((r) => ({ ...r, platforms: [parsePlatform("linux/arm64")] }));
    const summary = await create(requests, out);
    expect(summary.images).toEqual([{ name: multi.name!, digest: arm.descriptor.digest, mediaType: arm.descriptor.mediaType }]);
    expect(summary.blobs).toBe(uniqueCount([arm]));
    expect(summary.dockerImages).toBe(1);
    const amd = await create([multi.name!], join(dir, "amd.tar"), { platforms: [parsePlatform("linux/amd64")] });
    expect(amd.images[0]!.digest).toBe(multi.children[0]!.descriptor.digest);
  });

  test("--referrers: an image's signature comes along as an unnamed entry, in a tar and in a directory alike", async () => {
    const app0 = release[0]!;
    const signature = release.find((r) => r.name!.endsWith(".sig"))!;
    const out = join(dir, "signed.tar");
    const summary = await create([app0.name!], out, { referrers: true });
    expect(summary.referrers).toBe(1);
    expect(summary.blobs).toBe(uniqueCount([app0, signature]));
    const index = JSON.parse(await (await TarIndex.open(out)).file("index.json")!.text());
    expect(index.manifests[1]).toEqual({
      mediaType: signature.descriptor.mediaType,
      digest: signature.descriptor.digest,
      size: signature.descriptor.size,
      artifactType: "application/vnd.example.signature.v1",
    });
    const directory = await create([app0.name!], join(dir, "signed"), { referrers: true });
    expect(directory.index).toBe(summary.index);
    expect((await inspectBundle(out)).referrers).toBe(1);
    const reader = await openSource(out);
    expect((await reader.list()).map((i) => i.name.toString())).toEqual([app0.name!]);
    // Without --referrers it stays behind.
    expect((await create([app0.name!], join(dir, "unsigned.tar"))).referrers).toBe(0);
  });

  test("a missing image fails the run: nothing written, no staging left, a new directory removed", async () => {
    const out = join(dir, "fail.tar");
    const error = await create([...names(), "docker.io/acme/nope:1"], out).catch((e) => e);
    expect(error.message).toBe("No bundle written: 1 of 7 images failed");
    expect(error.failures).toEqual([{ image: "docker.io/acme/nope:1", error: expect.stringContaining("docker.io/acme/nope") }]);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes("fail.tar"))).toEqual([]);
    const d = join(dir, "fail-dir");
    await expect(create(["docker.io/acme/nope:1"], d)).rejects.toThrow(/No bundle written/);
    expect(existsSync(d)).toBe(false);
    // An existing tar stays as it was.
    const kept = join(dir, "kept.tar");
    await create(names().slice(0, 1), kept);
    const before = await sha256(kept);
    await expect(create(["docker.io/acme/nope:1"], kept)).rejects.toThrow(/No bundle written/);
    expect(await sha256(kept)).toBe(before);
  });

  test("a blob that does not match its digest fails the run, whether it comes from upstream or from the tar being replaced", async () => {
    const image = release[0]!;
    const layer = image.blobs[2]!.descriptor.digest;
    const flip = async (path: string, at: number) => {
      const handle = await open(path, "r+");
      const byte = new Uint8Array(1);
      await handle.read(byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0xff;
      await handle.write(byte, 0, 1, at);
      await handle.close();
    };
    // Upstream serves a damaged layer: verified as it streams into the tar, refused.
    const damagedUpstream = join(dir, "damaged-upstream");
    await writeOciLayout(damagedUpstream, [image]);
    await flip(join(damagedUpstream, "blobs", "sha256", encodedOf(layer)), 10);
    const out = join(dir, "refused.tar");
    const error = await create([image.name!], out, { from: await OciLayoutHome.open(damagedUpstream) }).catch((e) => e);
    expect(error.failures[0].error).toContain(`content does not match digest ${layer}`);
    expect(readdirSync(dir).filter((n) => n.includes("refused.tar"))).toEqual([]);
    // The tar being replaced is damaged: its blobs are checked as they are taken; --force-pull fetches anew.
    const kept = join(dir, "damaged-reuse.tar");
    await create([image.name!], kept);
    await flip(kept, (await TarIndex.open(kept)).resolve(`blobs/sha256/${encodedOf(layer)}`)!.offset + 10);
    const before = await sha256(kept);
    await expect(create([image.name!], kept)).rejects.toThrow(
      `blobs/sha256/${encodedOf(layer)} in ${kept}, the bundle being replaced, is damaged (content does not match digest ${layer}`,
    );
    expect(await sha256(kept)).toBe(before);
    await create([image.name!], kept, { forcePull: true });
    expect((await verifyBundle(kept)).problems).toEqual([]);
  });

  test("a blob body longer than its size fails the run, in a tar and in a directory", async () => {
    const image = release[1]!;
    const layer = image.blobs.at(-1)!.descriptor;
    // The bytes, then more: a stream the source made (written through JavaScript, after the real content).
    const blob = async (repository: string, digest: Digest) => {
      const content = await upstream.blob(repository, digest);
      if (digest !== layer.digest) return content;
      const bytes = await new Response(content.stream()).bytes();
      return { digest, size: content.size, stream: () => new Blob([bytes, new Uint8Array(1000)]).stream() };
    };
    const longer = new Proxy(upstream, {
      get: (target, key) => (key === "blob" ? blob : typeof Reflect.get(target, key) === "function" ? Reflect.get(target, key).bind(target) : Reflect.get(target, key)),
    }) as ImageReader;
    for (const output of [join(dir, "overrun.tar"), join(dir, "overrun-dir")]) {
      const error = await create([image.name!], output, { from: longer }).catch((e) => e);
      expect(error.failures[0].error).toContain(`content size does not match: expected ${layer.size} bytes`);
      expect(readdirSync(dir).filter((n) => n.includes("overrun"))).toEqual(output.endsWith(".tar") ? [] : ["overrun-dir"]);
    }
    expect(existsSync(join(dir, "overrun-dir", "blobs", "sha256", encodedOf(layer.digest)))).toBe(false);
    expect(readdirSync(join(dir, "overrun-dir")).filter((n) => n.startsWith("."))).toEqual([]);
  });

  test("an output directory that is not a layout is left alone", async () => {
    const d = join(dir, "not-a-layout");
    await Bun.write(join(d, "notes.txt"), "mine");
    await expect(create(names().slice(0, 1), d)).rejects.toThrow(/not an OCI image layout.*new or empty directory/);
    expect(readdirSync(d)).toEqual(["notes.txt"]);
  });
});

describe("inspect and verify", () => {
  test("inspect: images, platforms, sizes, unique and shared bytes", async () => {
    const out = join(dir, "inspect.tar");
    await create(names(), out);
    const report = await inspectBundle(out);
    const app0 = release[0]!;
    const size = (items: GeneratedManifest[]) =>
      [...allBlobs(items), ...allManifests(items)].reduce((sum, b) => sum + b.descriptor.size, 0);
    expect(report.images.find((i) => i.name === app0.name)).toMatchObject({
      digest: app0.descriptor.digest,
      platforms: ["linux/amd64"],
      size: size([app0]),
      inBase: 0,
      missing: 0,
    });
    expect(report.images.find((i) => i.name.includes("multi"))!.platforms).toEqual(["linux/amd64", "linux/arm64/v8"]);
    expect(report.blobs).toBe(uniqueCount(release));
    expect(report.bytes).toBe(size(release));
    // Base layer A is in every image, B in every other app: stored once, shared.
    expect(report.shared.blobs).toBe(2);
    expect(report.delta).toBeUndefined();
  });

  test("verify: a sound bundle, then a flipped byte, a missing blob and a wrong size, each named", async () => {
    const d = join(dir, "verify");
    await create(names(), d);
    expect((await verifyBundle(d)).problems).toEqual([]);
    const app0 = release[0]!;
    const layer = app0.blobs[2]!.descriptor.digest; // the image's own layer
    const path = join(d, "blobs", "sha256", encodedOf(layer));
    const bytes = await Bun.file(path).bytes();
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(path, bytes);
    const other = release[1]!.blobs.at(-1)!.descriptor.digest;
    rmSync(join(d, "blobs", "sha256", encodedOf(other)));
    const config = release[2]!.blobs[0]!.descriptor.digest;
    writeFileSync(join(d, "blobs", "sha256", encodedOf(config)), "{}");
    const report = await verifyBundle(d);
    expect(report.problems.map((p) => `${p.file}: ${p.message}`).sort()).toEqual(
      [
        `blobs/sha256/${encodedOf(layer)}: content hashes to ${digestOf(bytes)}`,
        `blobs/sha256/${encodedOf(config)}: content hashes to ${digestOf("{}")}`,
        `blobs/sha256/${encodedOf(config)}: is 2 bytes; manifest ${release[2]!.descriptor.digest} says ${release[2]!.blobs[0]!.descriptor.size} (image ${release[2]!.name})`,
        `blobs/sha256/${encodedOf(other)}: missing: the layer of manifest ${release[1]!.descriptor.digest} (image ${release[1]!.name})`,
        `manifest.json: image 1: blobs/sha256/${encodedOf(other)} is not in the bundle`,
      ].sort(),
    );
  });
});

test("verify: a missing child manifest and a missing image manifest are named", async () => {
  const d = join(dir, "verify-manifests");
  await create(names(), d);
  const multi = release.find((r) => r.children.length)!;
  const child = multi.children[0]!.descriptor.digest;
  rmSync(join(d, "blobs", "sha256", encodedOf(child)));
  rmSync(join(d, "blobs", "sha256", encodedOf(release[1]!.descriptor.digest)));
  const problems = (await verifyBundle(d)).problems.map((p) => `${p.file}: ${p.message}`);
  expect(problems).toContain(`blobs/sha256/${encodedOf(child)}: missing: a manifest that manifest ${multi.descriptor.digest} lists (image ${multi.name})`);
  expect(problems).toContain(`blobs/sha256/${encodedOf(release[1]!.descriptor.digest)}: missing: the manifest of an index.json entry (image ${release[1]!.name})`);
  const report = await inspectBundle(d);
  expect(report.images.find((i) => i.name === release[1]!.name)!.missing).toBe(1);
});

describe("delta bundles", () => {
  let a: Layer;
  let b: Layer;
  let v1: GeneratedManifest[];
  let v2: GeneratedManifest[];
  let base: string;
  let delta: string;
  let summary: BundleSummary;

  beforeAll(async () => {
    a = await generateLayer({ seed: "delta/base-a", size: 3000 });
    b = await generateLayer({ seed: "delta/base-b", size: 3000 });
    const app = (name: string, seed: string, baseLayers: Layer[]) => generateImage({ name, seed, baseLayers, layerSize: 2000 });
    const web1 = await app("docker.io/acme/web:1", "web-1", [a]);
    const api1 = await app("docker.io/acme/api:1", "api-1", [a, b]);
    v1 = [web1, api1];
    // 2: web changes its own layers; api is unchanged; a new repository builds on layer b.
    v2 = [await app("docker.io/acme/web:2", "web-2", [a]), api1, await app("docker.io/acme/worker:2", "worker-2", [b])];
    await writeOciLayout(join(dir, "delta-upstream"), [...v1, ...v2]);
    const from = await OciLayoutHome.open(join(dir, "delta-upstream"));
    base = join(dir, "app-1.tar");
    delta = join(dir, "app-2-delta.tar");
    await create(v1.map((i) => i.name!), base, { from });
    summary = await create(v2.map((i) => i.name!), delta, { from, since: base });
  });

  test("leaves out the layers the base has, keeps every manifest and config, records the base", async () => {
    const baseIndex = digestOf(await (await TarIndex.open(base)).file("index.json")!.bytes());
    const left = [a, b, ...v1[1]!.blobs.slice(3)].map((l) => l.descriptor);
    expect(summary.delta).toEqual({
      base: baseIndex,
      name: "app-1.tar",
      blobs: left.length,
      bytes: left.reduce((s, d) => s + d.size, 0),
    });
    expect(summary.blobs).toBe(uniqueCount(v2) - left.length);
    const tar = await TarIndex.open(delta);
    expect(tar.file("manifest.json")).toBeUndefined();
    const index = JSON.parse(await tar.file("index.json")!.text());
    expect(index.annotations).toEqual({
      "io.stevedore.bundle.base.blobs": left.map((d) => d.digest).sort().join(","),
      "io.stevedore.bundle.base.index": baseIndex,
      "io.stevedore.bundle.base.name": "app-1.tar",
    });
    const verified = await verifyBundle(delta);
    expect({ problems: verified.problems, inBase: verified.inBase }).toEqual({ problems: [], inBase: left.length });
    const report = await inspectBundle(delta);
    expect(report.delta).toEqual({ base: baseIndex, name: "app-1.tar", blobs: left.length, bytes: summary.delta!.bytes });
    expect(report.images.every((i) => i.missing === 0)).toBe(true);
  });

  test("syncs after its base; alone, it fails naming the blob and the base", async () => {
    const site = new MemoryHome("memory:site");
    const registry = (home: MemoryHome): DestinationEndpoint => ({
      home,
      target: (image) => ({ repository: image.name.path, ...(image.name.tag ? { tag: image.name.tag } : {}) }),
    });
    const into = async (bundle: string) => syncImages(await openSource(bundle), registry(site));
    expect((await into(base)).images.failed).toBe(0);
    const both = await into(delta);
    expect(both.failures).toEqual([]);
    for (const image of v2) {
      const path = image.name!.replace("docker.io/", "");
      expect((await site.resolve(path.split(":")[0]!, path.split(":")[1]!)).digest).toBe(image.descriptor.digest);
    }
    const alone = await syncImages(await openSource(delta), registry(new MemoryHome()));
    expect(alone.images.failed).toBeGreaterThan(0);
    expect(alone.failures[0]!.error).toMatch(
      /blob sha256:[0-9a-f]{64} is not in oci-archive:.*app-2-delta\.tar: this delta bundle leaves it to the base bundle "app-1\.tar" \(index\.json sha256:[0-9a-f]{64}\); sync that bundle into the destination first/,
    );
  });

  test("a base layer needed only in a repository the base does not use travels in the delta", async () => {
    const from = await OciLayoutHome.open(join(dir, "delta-upstream"));
    const worker = v2[2]!;
    const out = join(dir, "worker-delta.tar");
    const summary = await create([worker.name!], out, { from, since: base });
    // Layer b is in the base, but only in acme/api: a registry holding the base has no b in acme/worker.
    expect(summary.delta!.blobs).toBe(0);
    expect(summary.blobs).toBe(uniqueCount([worker]));
    const site = new MemoryHome("memory:site");
    const registry: DestinationEndpoint = { home: site, target: (image) => ({ repository: image.name.path, tag: image.name.tag! }) };
    expect((await syncImages(await openSource(base), registry)).failures).toEqual([]);
    expect((await syncImages(await openSource(out), registry)).failures).toEqual([]);
    expect((await site.resolve("acme/worker", "2")).digest).toBe(worker.descriptor.digest);
  });

  test("a delta of a delta leaves out what either has", async () => {
    const from = await OciLayoutHome.open(join(dir, "delta-upstream"));
    const again = await create(v2.map((i) => i.name!), join(dir, "app-3-delta.tar"), { from, since: delta });
    expect(again.blobs).toBe(allManifests(v2).length + v2.length); // manifests and configs only
  });

  test("the same output as its base is refused", async () => {
    await expect(create(names().slice(0, 1), base, { since: base })).rejects.toThrow(/is the output itself/);
  });
});
