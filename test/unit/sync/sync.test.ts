/** The copy engine between in-memory homes: what moves, in what order, what is skipped. */
import { describe, expect, test } from "bun:test";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { type BlobInput, MediaType, OciError, parseManifest, parsePlatform } from "../../../src/oci/index.ts";
import { planSync, SyncProgress, syncImages, viewPlan } from "../../../src/sync/index.ts";
import {
  allBlobs,
  allManifests,
  generateArtifact,
  generateImage,
  generateIndex,
  generateLayer,
  generateMultiArch,
  generateRelease,
  type GeneratedManifest,
} from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { destination, Events, load, names, source, TracingHome } from "./fixtures.ts";

async function releaseSource(items?: GeneratedManifest[]) {
  const release = items ?? (await generateRelease({ layerSize: 1024 }));
  const home = new TracingHome("memory:source");
  await load(home, release);
  return { release, home, endpoint: source(home, names(release)) };
}

async function expectTagsMatch(dest: MemoryHome, items: GeneratedManifest[]) {
  for (const item of items.filter((i) => i.name)) {
    const name = item.name!.replace(/^docker\.io\//, "");
    const [repository, tag] = name.split(":") as [string, string];
    expect(`${name} ${(await dest.resolve(repository, tag)).digest}`).toBe(`${name} ${item.descriptor.digest}`);
  }
}

describe("copy", () => {
  test("copies a release: every tag lands on its digest, each blob uploaded once, shared ones mounted", async () => {
    const { release, endpoint } = await releaseSource();
    const dest = new TracingHome("memory:dest");
    const events = new Events();
    const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener });
    await expectTagsMatch(dest, release);
    const unique = allBlobs(release);
    const pushed = dest.writes.filter((w) => w.op === "blob").map((w) => w.reference);
    expect(pushed.sort()).toEqual(unique.map((b) => b.descriptor.digest).sort());
    expect(summary).toMatchObject({
      images: { total: release.length, synced: release.length, skipped: 0, failed: 0, cancelled: 0 },
      blobs: { pushed: unique.length, skipped: 0 },
      bytes: unique.reduce((n, b) => n + b.bytes.byteLength, 0),
      interrupted: false,
      failures: [],
    });
    // The base layers are in several repositories: uploaded once, mounted elsewhere.
    expect(summary.blobs.mounted).toBeGreaterThan(0);
    expect(dest.writes.filter((w) => w.op === "mount").length).toBe(summary.blobs.mounted);
    expect(events.of("image-done").map((e) => e.outcome)).toEqual(release.map(() => "copied"));
    expect(events.of("done")[0]!.summary).toEqual(summary);
    const progress = new SyncProgress();
    events.all.forEach((e) => progress.update(e));
    expect(progress.snapshot()).toEqual({
      images: { total: release.length, done: release.length, failed: 0 },
      bytes: { done: summary.bytes, total: summary.bytes },
      blobs: { pushed: summary.blobs.pushed, mounted: summary.blobs.mounted },
      transfers: 0,
      planned: true,
    });
  });

  test("a re-sync of what is there costs one tag lookup per image and moves nothing", async () => {
    const { release, endpoint } = await releaseSource();
    const dest = new TracingHome("memory:dest");
    await syncImages(endpoint, destination(dest));
    for (const k of Object.keys(dest.calls)) delete dest.calls[k];
    const summary = await syncImages(endpoint, destination(dest));
    expect(dest.calls).toEqual({ resolve: release.length });
    expect(summary.images).toEqual({ total: release.length, synced: 0, skipped: release.length, failed: 0, cancelled: 0 });
    expect(summary.blobs).toEqual({ pushed: 0, mounted: 0, skipped: 0 });
  });

  test("an image whose manifest is there under another tag is only tagged", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1.0" });
    const { endpoint } = await releaseSource([image]);
    const dest = new TracingHome("memory:dest");
    await load(dest, [{ ...image, name: "docker.io/acme/app:old" }]);
    const summary = await syncImages(endpoint, destination(dest));
    expect(dest.writes).toEqual([{ op: "manifest", repository: "acme/app", reference: "1.0" }]);
    expect(dest.calls.statBlob).toBeUndefined();
    expect(summary.images.synced).toBe(1);
  });

  test("a blob the destination has in the repository is not uploaded; one it has elsewhere is mounted", async () => {
    const base = await generateLayer({ seed: "base" });
    const a = await generateImage({ name: "docker.io/acme/a:1", baseLayers: [base] });
    const b = await generateImage({ name: "docker.io/acme/b:1", baseLayers: [base] });
    const { endpoint } = await releaseSource([a, b]);
    const dest = new TracingHome("memory:dest");
    await load(dest, [a]);
    const summary = await syncImages(endpoint, destination(dest));
    expect(dest.writes.filter((w) => w.op === "mount")).toEqual([{ op: "mount", repository: "acme/b", reference: base.descriptor.digest }]);
    expect(dest.writes.filter((w) => w.op === "blob").map((w) => w.reference)).not.toContain(base.descriptor.digest);
    expect(summary.blobs).toEqual({ pushed: b.blobs.length - 1, mounted: 1, skipped: 0 });
  });

  test("a blob the destination holds in a repository outside the run is found by a mount without a source", async () => {
    const base = await generateLayer({ seed: "base" });
    const other = await generateImage({ name: "docker.io/other/thing:1", baseLayers: [base] });
    const b = await generateImage({ name: "docker.io/acme/b:1", baseLayers: [base] });
    const { endpoint } = await releaseSource([b]);
    const dest = new TracingHome("memory:dest");
    await load(dest, [other]);
    const summary = await syncImages(endpoint, destination(dest));
    expect(summary.blobs).toEqual({ pushed: b.blobs.length - 1, mounted: 1, skipped: 0 });
    expect(dest.writes.filter((w) => w.op === "blob").map((w) => w.reference)).not.toContain(base.descriptor.digest);
  });

  test("a destination that cannot mount gets uploads", async () => {
    const base = await generateLayer({ seed: "base" });
    const a = await generateImage({ name: "docker.io/acme/a:1", baseLayers: [base] });
    const b = await generateImage({ name: "docker.io/acme/b:1", baseLayers: [base] });
    const { endpoint } = await releaseSource([a, b]);
    const dest = new TracingHome("memory:dest");
    Object.defineProperty(dest, "mountBlob", { value: undefined });
    const summary = await syncImages(endpoint, destination(dest));
    expect(summary.blobs).toEqual({ pushed: a.blobs.length + b.blobs.length, mounted: 0, skipped: 0 });
  });

  test("a copy between repositories of one home mounts from the source repository", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const home = new TracingHome("memory:one");
    await load(home, [image]);
    const summary = await syncImages(source(home, ["docker.io/acme/app:1"]), destination(home, "copy/"));
    expect(summary.blobs).toEqual({ pushed: 0, mounted: image.blobs.length, skipped: 0 });
    expect((await home.resolve("copy/acme/app", "1")).digest).toBe(image.descriptor.digest);
  });

  test("a refused mount falls back to an upload", async () => {
    const base = await generateLayer({ seed: "base" });
    const a = await generateImage({ name: "docker.io/acme/a:1", baseLayers: [base] });
    const b = await generateImage({ name: "docker.io/acme/b:1", baseLayers: [base] });
    const { endpoint } = await releaseSource([b]);
    const dest = new TracingHome("memory:dest");
    await load(dest, [a]);
    dest.mountBlob = async () => false;
    const summary = await syncImages(endpoint, destination(dest));
    expect(summary.blobs).toEqual({ pushed: b.blobs.length, mounted: 0, skipped: 0 });
    await expectTagsMatch(dest, [b]);
  });

  test("two images in one repository sharing a layer upload it once, even at once", async () => {
    const base = await generateLayer({ seed: "shared", size: 4096 });
    const one = await generateImage({ name: "docker.io/acme/app:1", baseLayers: [base], seed: 1 });
    const two = await generateImage({ name: "docker.io/acme/app:2", baseLayers: [base], seed: 2 });
    const { endpoint } = await releaseSource([one, two]);
    const dest = new TracingHome("memory:dest");
    dest.delay = 5;
    const summary = await syncImages(endpoint, destination(dest), { parallel: 8 });
    const uploads = dest.writes.filter((w) => w.op === "blob" && w.reference === base.descriptor.digest);
    expect(uploads.length).toBe(1);
    expect(dest.maxUploading).toBeGreaterThan(1);
    expect(summary.blobs.pushed).toBe(allBlobs([one, two]).length);
  });

  test("the stream path reports progress bytes adding up to the blob sizes", async () => {
    const { release, home, endpoint } = await releaseSource();
    home.streamOnly = true;
    const dest = new TracingHome("memory:dest");
    const events = new Events();
    const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener });
    await expectTagsMatch(dest, release);
    expect(events.of("blob-progress").reduce((n, e) => n + e.bytes, 0)).toBe(summary.bytes);
  });
});

describe("order", () => {
  test("no manifest before its blobs and children, no tag before the image is complete", async () => {
    const { release, endpoint } = await releaseSource();
    const dest = new TracingHome("memory:dest");
    dest.strict = false; // the check below is the test, not the home's refusal
    await syncImages(endpoint, destination(dest), { parallel: 3 });
    const at = (repository: string, reference: string) =>
      dest.writes.findIndex((w) => w.repository === repository && w.reference === reference);
    for (const item of release) {
      const [repository, tag] = item.name!.replace(/^docker\.io\//, "").split(":") as [string, string];
      for (const m of allManifests([item])) {
        const position = m === item ? at(repository, tag) : at(repository, m.descriptor.digest);
        expect(position).toBeGreaterThanOrEqual(0);
        for (const b of m.blobs) expect(at(repository, b.descriptor.digest)).toBeLessThan(position);
        for (const c of m.children) expect(at(repository, c.descriptor.digest)).toBeLessThan(position);
      }
    }
  });

  test("small requests are not starved behind held uploads", async () => {
    const big = await generateImage({ name: "docker.io/acme/big:1", seed: "big" });
    const small = await generateImage({ name: "docker.io/acme/small:1", seed: "small" });
    const { endpoint } = await releaseSource([big, small]);
    const dest = new TracingHome("memory:dest");
    await load(dest, [{ ...small, name: "docker.io/acme/small:old" }]);
    let release!: () => void;
    dest.gate = new Promise((resolve) => (release = resolve));
    const events = new Events();
    const done = syncImages(endpoint, destination(dest), {
      parallel: 1,
      onEvent: (e) => {
        events.listener(e);
        // The tag-only image finishes while the big one's upload is held.
        if (e.type === "image-done" && e.image.includes("small")) release();
      },
    });
    const summary = await done;
    expect(events.of("image-done").map((e) => e.image)).toEqual(["docker.io/acme/small:1", "docker.io/acme/big:1"]);
    expect(summary.images.synced).toBe(2);
  });
});

describe("bounds", () => {
  test("no more uploads at once than --parallel", async () => {
    const items = await Promise.all([1, 2, 3, 4].map((i) => generateImage({ name: `docker.io/acme/p${i}:1`, seed: i, layers: 3 })));
    const { endpoint } = await releaseSource(items);
    for (const parallel of [1, 2, 5]) {
      const dest = new TracingHome("memory:dest");
      dest.delay = 3;
      await syncImages(endpoint, destination(dest), { parallel });
      expect(dest.maxUploading).toBe(parallel);
    }
  });
});

describe("failures", () => {
  async function corrupted() {
    const shared = await generateLayer({ seed: "shared" });
    const good = await generateImage({ name: "docker.io/acme/good:1", seed: "good", baseLayers: [shared] });
    const bad = await generateImage({ name: "docker.io/acme/bad:1", seed: "bad", baseLayers: [shared] });
    const { home, endpoint } = await releaseSource([bad, good]);
    const victim = bad.blobs.at(-1)!.descriptor.digest;
    const bytes = home.blobs.get(victim)!;
    const damaged = new Uint8Array(bytes);
    damaged[damaged.length - 1]! ^= 1;
    home.blobs.set(victim, damaged);
    return { good, bad, victim, endpoint };
  }

  test("a source blob that does not match its digest fails its image only, with no tag (keep-going)", async () => {
    const { good, victim, endpoint } = await corrupted();
    const dest = new TracingHome("memory:dest");
    const events = new Events();
    const summary = await syncImages(endpoint, destination(dest), { keepGoing: true, onEvent: events.listener });
    expect(summary.images).toMatchObject({ synced: 1, failed: 1 });
    expect(summary.failures).toHaveLength(1);
    const failure = summary.failures[0]!;
    expect(failure.image).toBe("docker.io/acme/bad:1");
    expect(failure.error).toContain(victim);
    expect(failure.error).toMatch(/does not match digest/);
    expect(events.of("image-failed")[0]).toMatchObject({ image: "docker.io/acme/bad:1", target: "acme/bad:1" });
    expect(dest.repos.get("acme/bad")?.tags.size ?? 0).toBe(0);
    expect(dest.blobs.has(victim)).toBe(false);
    await expectTagsMatch(dest, [good]);
  });

  test("without keep-going the run stops at the first failure", async () => {
    const { endpoint } = await corrupted();
    const dest = new TracingHome("memory:dest");
    dest.delay = 5;
    const summary = await syncImages(endpoint, destination(dest), { parallel: 1 });
    expect(summary.images.failed).toBe(1);
    expect(summary.images.synced + summary.images.cancelled).toBe(1);
    expect(dest.repos.get("acme/bad")?.tags.size ?? 0).toBe(0);
  });

  test("a missing source blob names the image, the blob and the source", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const { home, endpoint } = await releaseSource([image]);
    const layer = image.blobs[1]!.descriptor.digest;
    await home.deleteBlob("acme/app", layer);
    const summary = await syncImages(endpoint, destination(new MemoryHome()));
    expect(summary.failures).toEqual([
      { image: "docker.io/acme/app:1", error: expect.stringContaining(`blob ${layer} (reading memory:source)`) },
    ]);
  });

  test("a source manifest whose bytes do not match fails before anything moves", async () => {
    const index = await generateMultiArch("docker.io/acme/multi:1");
    const { home, endpoint } = await releaseSource([index]);
    const child = index.children[0]!.descriptor.digest;
    const stored = home.repos.get("acme/multi")!.manifests.get(child)!;
    home.repos.get("acme/multi")!.manifests.set(child, { ...stored, bytes: new TextEncoder().encode(`${new TextDecoder().decode(stored.bytes)} `) });
    const dest = new TracingHome("memory:dest");
    const summary = await syncImages(endpoint, destination(dest));
    expect(summary.failures[0]!.error).toContain(`manifest ${child}`);
    expect(dest.writes).toEqual([]);
  });

  test("schema1 is refused with a clear message", async () => {
    const home = new MemoryHome("memory:source");
    const schema1 = new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, name: "acme/old", tag: "1", fsLayers: [] }));
    const digest = digestOf(schema1);
    home.repos.set("acme/old", { blobs: new Set(), manifests: new Map([[digest, { digest, mediaType: MediaType.dockerSchema1Signed, bytes: schema1 }]]), tags: new Map([["1", digest]]) });
    const summary = await syncImages(source(home, ["docker.io/acme/old:1"]), destination(new MemoryHome()));
    expect(summary.failures[0]!.error).toMatch(/schema1 manifests are not supported/);
  });

  test("two source images for one destination tag: the second fails", async () => {
    const a = await generateImage({ name: "docker.io/acme/app:1", seed: "a" });
    const b = await generateImage({ name: "quay.io/acme/app:1", seed: "b" });
    const { endpoint } = await releaseSource([a]);
    const home = endpoint.home as MemoryHome;
    await load(home, [b], "acme/app2");
    const both = {
      home,
      list: async () => [...(await endpoint.list()), { ...(await endpoint.list())[0]!, repository: "acme/app2", name: (await endpoint.list())[0]!.name }],
    };
    const summary = await syncImages(both, destination(new MemoryHome()), { keepGoing: true });
    expect(summary.failures).toEqual([{ image: "docker.io/acme/app:1", error: "acme/app:1 is also the destination of docker.io/acme/app:1" }]);
  });
});

describe("platforms", () => {
  const three = async () => {
    const images = await Promise.all(
      ["linux/amd64", "linux/arm64/v8", "linux/s390x"].map((p) =>
        generateImage({ seed: p, platform: parsePlatform(p) }),
      ),
    );
    return generateIndex("docker.io/acme/multi:1", images);
  };

  test("the whole index by default", async () => {
    const index = await three();
    const { endpoint } = await releaseSource([index]);
    const dest = new TracingHome("memory:dest");
    await syncImages(endpoint, destination(dest));
    await expectTagsMatch(dest, [index]);
  });

  test("one platform copies that platform's image manifest, and says the digest changed", async () => {
    const index = await three();
    const { endpoint } = await releaseSource([index]);
    const dest = new TracingHome("memory:dest");
    const events = new Events();
    await syncImages(endpoint, destination(dest), { platforms: [parsePlatform("linux/arm64")], onEvent: events.listener });
    const arm = index.children[1]!;
    expect((await dest.resolve("acme/multi", "1")).digest).toBe(arm.descriptor.digest);
    expect(events.of("platform-filtered")).toEqual([
      { type: "platform-filtered", image: "docker.io/acme/multi:1", from: index.descriptor.digest, to: arm.descriptor.digest, platforms: ["linux/arm64/v8"] },
    ]);
    expect(dest.writes.filter((w) => w.op === "blob").length).toBe(arm.blobs.length);
  });

  test("several platforms rewrite the index to those entries: a new digest", async () => {
    const index = await three();
    const { endpoint } = await releaseSource([index]);
    const dest = new TracingHome("memory:dest");
    const events = new Events();
    const platforms = [parsePlatform("linux/amd64"), parsePlatform("linux/s390x")];
    const plan = viewPlan(await planSync(endpoint, destination(dest), { platforms }));
    const summary = await syncImages(endpoint, destination(dest), { platforms, onEvent: events.listener });
    expect(summary.images.synced).toBe(1);
    const stored = await dest.manifest("acme/multi", "1");
    const parsed = parseManifest(stored.bytes, stored.mediaType);
    expect(parsed.kind === "index" && parsed.index.manifests.map((d) => d.digest)).toEqual([
      index.children[0]!.descriptor.digest,
      index.children[2]!.descriptor.digest,
    ]);
    expect(stored.digest).not.toBe(index.descriptor.digest);
    expect(events.of("platform-filtered")[0]).toMatchObject({ from: index.descriptor.digest, to: stored.digest });
    expect(plan.images[0]).toMatchObject({ digest: stored.digest, sourceDigest: index.descriptor.digest });
  });

  test("a platform the index lacks fails the image, naming what it has", async () => {
    const index = await three();
    const { endpoint } = await releaseSource([index]);
    const summary = await syncImages(endpoint, destination(new MemoryHome()), { platforms: [parsePlatform("windows/amd64")] });
    expect(summary.failures[0]!.error).toBe(
      "no manifest for windows/amd64 in the index (it has linux/amd64, linux/arm64/v8, linux/s390x)",
    );
  });

  test("a single-platform image is copied as it is", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const { endpoint } = await releaseSource([image]);
    const dest = new MemoryHome();
    await syncImages(endpoint, destination(dest), { platforms: [parsePlatform("linux/arm64")] });
    await expectTagsMatch(dest, [image]);
  });
});

describe("plan and resume", () => {
  test("a dry run moves nothing and says what would", async () => {
    const { release, endpoint } = await releaseSource();
    const dest = new TracingHome("memory:dest");
    await load(dest, [release[0]!]);
    const view = viewPlan(await planSync(endpoint, destination(dest)));
    expect(dest.writes).toEqual([]);
    expect(dest.calls.putBlob ?? 0).toBe(0);
    expect(dest.calls.mountBlob ?? 0).toBe(0);
    expect(dest.calls.putManifest ?? 0).toBe(0);
    expect(view.images.map((i): string => i.action)).toEqual(["present", ...release.slice(1).map(() => "copy")]);
    const unique = allBlobs(release.slice(1)).length;
    expect(view.totals.blobs.push + view.totals.blobs.mount + view.totals.blobs.skip).toBeGreaterThanOrEqual(unique);
    // The base layers are in acme/app-0 already: the other repositories mount them from there.
    const pushedTo = new Set(view.blobs.filter((b) => b.action === "push").map((b) => `${b.repository} ${b.digest}`));
    for (const b of view.blobs.filter((b) => b.action === "mount")) {
      expect(b.from === "acme/app-0" || pushedTo.has(`${b.from} ${b.digest}`)).toBe(true);
    }
    expect(view.blobs.filter((b) => b.from === "acme/app-0").length).toBeGreaterThan(0);
    expect(view.totals.blobs.mount).toBeGreaterThan(0);
    expect(view.totals.bytes.push).toBe(
      view.blobs.filter((b) => b.action === "push").reduce((n, b) => n + b.size, 0),
    );
  });

  test("stopped mid-way, a second run finishes moving only what is missing", async () => {
    const { release, endpoint } = await releaseSource(await generateRelease({ layerSize: 4096, images: 6 }));
    const dest = new TracingHome("memory:dest");
    dest.delay = 2;
    const stop = new AbortController();
    let finished = 0;
    const first = await syncImages(endpoint, destination(dest), {
      parallel: 2,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === "blob-done" && ++finished === 5) stop.abort(new Error("stop"));
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.images.cancelled).toBeGreaterThan(0);
    const before = dest.writes.filter((w) => w.op === "blob").map((w) => `${w.repository} ${w.reference}`);
    dest.delay = 0;
    const second = await syncImages(endpoint, destination(dest));
    expect(second.images.failed).toBe(0);
    await expectTagsMatch(dest, release);
    const after = dest.writes.filter((w) => w.op === "blob").slice(before.length).map((w) => `${w.repository} ${w.reference}`);
    for (const w of after) expect(before).not.toContain(w);
    expect(second.blobs.skipped).toBeGreaterThan(0);
  });

  test("--force walks a present image and repairs a hole", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const { endpoint } = await releaseSource([image]);
    const dest = new TracingHome("memory:dest");
    await syncImages(endpoint, destination(dest));
    const layer = image.blobs[1]!.descriptor.digest;
    await dest.deleteBlob("acme/app", layer);
    dest.blobs.delete(layer); // gone from the whole home, not only unlinked
    expect((await syncImages(endpoint, destination(dest))).blobs.pushed).toBe(0);
    const repaired = await syncImages(endpoint, destination(dest), { force: true });
    expect(repaired.blobs).toEqual({ pushed: 1, mounted: 0, skipped: image.blobs.length - 1 });
    expect(await dest.statBlob("acme/app", layer)).toBe(image.blobs[1]!.bytes.byteLength);
  });

  test("a source naming no images: a warning, and nothing to do", async () => {
    const events = new Events();
    const summary = await syncImages(source(new MemoryHome("memory:empty"), []), destination(new MemoryHome()), { onEvent: events.listener });
    expect(events.of("warning")).toEqual([{ type: "warning", message: "memory:empty names no images; nothing to copy" }]);
    expect(summary.images.total).toBe(0);
    // The warning names the location as the source string gave it, path and all.
    const named = new Events();
    const endpoint = { ...source(new MemoryHome("docker://site:5000"), []), description: "docker://site:5000/acme/app-9" };
    await syncImages(endpoint, destination(new MemoryHome()), { onEvent: named.listener });
    expect(named.of("warning")).toEqual([{ type: "warning", message: "docker://site:5000/acme/app-9 names no images; nothing to copy" }]);
  });

  test("the caller's abort before the start cancels everything", async () => {
    const { release, endpoint } = await releaseSource();
    const dest = new TracingHome("memory:dest");
    const stop = new AbortController();
    stop.abort(new Error("no"));
    const summary = await syncImages(endpoint, destination(dest), { signal: stop.signal });
    expect(summary.images.cancelled).toBe(release.length);
    expect(dest.writes).toEqual([]);
  });
});

describe("referrers", () => {
  async function signed() {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const signature = generateArtifact(image);
    const sbom = generateArtifact(signature, { artifactType: "application/vnd.example.sbom", payload: "sbom" });
    const home = new TracingHome("memory:source");
    await load(home, [image]);
    await load(home, [signature, sbom], "acme/app");
    return { image, signature, sbom, endpoint: source(home, ["docker.io/acme/app:1"]) };
  }

  test("with referrers, signatures (and their own referrers) follow the image", async () => {
    const { signature, sbom, endpoint } = await signed();
    const dest = new TracingHome("memory:dest");
    await syncImages(endpoint, destination(dest), { referrers: true });
    expect(await dest.hasManifest("acme/app", signature.descriptor.digest)).toBe(true);
    expect(await dest.hasManifest("acme/app", sbom.descriptor.digest)).toBe(true);
    const tag = dest.writes.findIndex((w) => w.reference === "1");
    const sig = dest.writes.findIndex((w) => w.reference === signature.descriptor.digest);
    expect(sig).toBeLessThan(tag);
  });

  test("without, they stay behind; a later run with referrers brings only them", async () => {
    const { signature, endpoint } = await signed();
    const dest = new TracingHome("memory:dest");
    await syncImages(endpoint, destination(dest));
    expect(await dest.hasManifest("acme/app", signature.descriptor.digest)).toBe(false);
    const summary = await syncImages(endpoint, destination(dest), { referrers: true });
    expect(await dest.hasManifest("acme/app", signature.descriptor.digest)).toBe(true);
    expect(summary.blobs.pushed).toBe(allBlobs([signature]).length + 1); // the sbom's payload
  });
});

describe("retries", () => {
  /** Fails the first upload of each blob after reading part of it, as a dropped connection would. */
  class FlakyHome extends TracingHome {
    readonly failed = new Set<string>();
    override async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob) {
      if (!this.failed.has(blob.digest)) {
        this.failed.add(blob.digest);
        const reader = (body instanceof Blob ? body.stream() : body).getReader();
        await reader.read();
        await reader.cancel();
        throw new OciError("UNAVAILABLE", "Cannot reach registry: connection closed by the server", undefined, 503);
      }
      return super.putBlob(repository, blob, body);
    }
  }

  test("a streamed upload that drops is tried again from the source; progress stays true", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1", layerSize: 200_000 });
    const { home, endpoint } = await releaseSource([image]);
    home.streamOnly = true;
    const dest = new FlakyHome("memory:dest");
    const events = new Events();
    const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener, retry: { baseDelayMs: 1 } });
    expect(summary.images.synced).toBe(1);
    expect(events.of("blob-retry").length).toBe(image.blobs.length);
    expect(events.of("blob-progress").reduce((n, e) => n + e.bytes, 0)).toBe(summary.bytes);
    await expectTagsMatch(dest, [image]);
  });

  test("file bodies and digest mismatches are not retried by the engine", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1" });
    const { endpoint } = await releaseSource([image]);
    const dest = new FlakyHome("memory:dest");
    const events = new Events();
    const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener, retry: { baseDelayMs: 1 } });
    expect(summary.images.failed).toBe(1);
    expect(summary.failures[0]!.error).toContain("connection closed by the server");
    expect(events.of("blob-retry")).toEqual([]);
    expect(events.of("blob-failed").length).toBeGreaterThan(0);
  });
});
