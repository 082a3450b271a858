/**
 * The contract every home keeps, as one suite run against each of them.
 *
 *   runHomeContract("oci:", async () => {
 *     const dir = await mkdtemp(...);
 *     const home = await OciLayoutHome.open(dir, { create: true });
 *     return { home, reopen: () => OciLayoutHome.open(dir), cleanup: () => rm(dir, ...) };
 *   });
 *
 * `runHomeContract` takes a factory for a fresh, empty, writable home;
 * `runReadContract` a factory that stores a prepared set of images in the
 * home's own format and opens it read-only. Optional capabilities (mount,
 * referrers, deletes) are tested when the home has them.
 */
import { describe, expect, test } from "bun:test";
import { ContentMismatchError, type Digest, digestOf } from "../../src/digest/index.ts";
import {
  canDelete,
  canListReferrers,
  canMount,
  type ImageHome,
  type ImageReader,
  isClosable,
  MediaType,
  OciError,
} from "../../src/oci/index.ts";
import { parseReference } from "../../src/reference/index.ts";
import {
  allBlobs,
  allManifests,
  generateArtifact,
  generateImage,
  generateLayer,
  generateMultiArch,
  type GeneratedBlob,
  type GeneratedManifest,
} from "./images.ts";

export interface HomeFixture {
  home: ImageHome;
  /**
   * For homes that persist: close what was written and open it again (a
   * new instance, or the reader of a written archive).
   */
  reopen?: () => Promise<ImageReader>;
  cleanup?: () => Promise<void>;
}

/** The contract's cases, by key. */
export type ContractCase =
  | "verify"
  | "streams"
  | "parallel"
  | "manifests"
  | "index"
  | "retag"
  | "refuse"
  | "list"
  | "unknown"
  | "mount"
  | "referrers"
  | "deletes"
  | "reopen";

export interface HomeContractOptions {
  /** Cases the server behind a home cannot do (a registry without the referrers API): skipped. */
  unsupported?: ContractCase[];
  /** Cases known to fail today: run as `test.failing`, so the fix is noticed and the entry removed. */
  knownFailures?: ContractCase[];
  /** putManifest refuses manifests whose blobs or children are missing. Default true. */
  strictManifests?: boolean;
  /** A blob put in one repository is unknown in another until mounted. Default false. */
  isolatedBlobs?: boolean;
}

const UNKNOWN_DIGEST = `sha256:${"0".repeat(64)}` as Digest;

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function expectOciError(promise: Promise<unknown>, ...codes: string[]): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OciError);
  expect(codes).toContain((error as OciError).code);
}

/**
 * A refused upload: OciError DIGEST_INVALID or SIZE_INVALID, or the
 * ContentMismatchError of the verifying stream passed through as it is.
 */
async function expectMismatch(promise: Promise<unknown>): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (error instanceof ContentMismatchError) return;
  expect(error).toBeInstanceOf(OciError);
  expect(["DIGEST_INVALID", "SIZE_INVALID"]).toContain((error as OciError).code);
}

async function putBlobs(home: ImageHome, repository: string, blobs: GeneratedBlob[]): Promise<void> {
  for (const b of blobs) await home.putBlob(repository, b.descriptor, new Blob([b.bytes]));
}

/** Push a manifest tree the way the copy engine does: blobs, children by digest, then the tag. */
export async function pushTree(home: ImageHome, repository: string, m: GeneratedManifest, tag?: string): Promise<void> {
  await putBlobs(home, repository, allBlobs([m]));
  for (const child of m.children) await pushTree(home, repository, child);
  const content = { bytes: m.bytes, mediaType: m.descriptor.mediaType };
  expect(await home.putManifest(repository, m.descriptor.digest, content)).toBe(m.descriptor.digest);
  if (tag !== undefined) expect(await home.putManifest(repository, tag, content)).toBe(m.descriptor.digest);
}

/** Every check a reader must pass for an image stored under repository:tag. */
export async function expectImage(home: ImageReader, repository: string, tag: string | undefined, m: GeneratedManifest): Promise<void> {
  if (tag !== undefined) {
    const resolved = await home.resolve(repository, tag);
    expect({ digest: resolved.digest, mediaType: resolved.mediaType, size: resolved.size }).toEqual({
      digest: m.descriptor.digest,
      mediaType: m.descriptor.mediaType,
      size: m.descriptor.size,
    });
    const byTag = await home.manifest(repository, tag);
    expect(byTag.digest).toBe(m.descriptor.digest);
    expect(Buffer.from(byTag.bytes).equals(Buffer.from(m.bytes))).toBe(true);
  }
  for (const each of allManifests([m])) {
    const content = await home.manifest(repository, each.descriptor.digest);
    expect({ digest: content.digest, mediaType: content.mediaType }).toEqual({
      digest: each.descriptor.digest,
      mediaType: each.descriptor.mediaType,
    });
    expect(Buffer.from(content.bytes).equals(Buffer.from(each.bytes))).toBe(true);
    expect(await home.hasManifest(repository, each.descriptor.digest)).toBe(true);
    expect((await home.resolve(repository, each.descriptor.digest)).digest).toBe(each.descriptor.digest);
  }
  for (const b of allBlobs([m])) {
    expect(await home.statBlob(repository, b.descriptor.digest)).toBe(b.descriptor.size);
    const content = await home.blob(repository, b.descriptor.digest);
    expect(content.size).toBe(b.descriptor.size);
    expect(digestOf(await bytesOf(content.stream()))).toBe(b.descriptor.digest);
    const start = Math.floor(b.bytes.byteLength / 3);
    const end = Math.max(start, b.bytes.byteLength - 1);
    const range = await bytesOf(content.stream({ start, end }));
    expect(Buffer.from(range).equals(Buffer.from(b.bytes.subarray(start, end)))).toBe(true);
    if (content.blob) {
      const whole = content.blob();
      expect(whole.size).toBe(b.descriptor.size);
      expect(digestOf(new Uint8Array(await whole.arrayBuffer()))).toBe(b.descriptor.digest);
      expect(content.blob({ start, end }).size).toBe(end - start);
    }
  }
}

/** Fixed content the cases share. */
async function content() {
  const base = await generateLayer({ seed: "contract/base", size: 3000 });
  const app = await generateImage({ name: "acme/app:1.0", seed: "contract/app", baseLayers: [base], layers: 2, layerSize: 1500 });
  const app2 = await generateImage({ name: "acme/app:2.0", seed: "contract/app2", baseLayers: [base], layers: 1, layerSize: 700 });
  const docker = await generateImage({ name: "acme/legacy:1", seed: "contract/docker", format: "docker", layers: 1 });
  const multi = await generateMultiArch("library/multi:2.0", { seed: "contract/multi", baseLayers: [base], layerSize: 500 });
  const signature = generateArtifact(app, { artifactType: "application/vnd.example.signature.v1" });
  const sbom = generateArtifact(app, { artifactType: "application/vnd.example.sbom.v1", payload: "sbom" });
  return { base, app, app2, docker, multi, signature, sbom };
}

export function runHomeContract(name: string, factory: () => Promise<HomeFixture>, options: HomeContractOptions = {}): void {
  const strict = options.strictManifests ?? true;
  const skipped = new Set(options.unsupported ?? []);
  const failing = new Set(options.knownFailures ?? []);
  const withHome = (key: ContractCase, title: string, body: (f: HomeFixture) => Promise<void>) =>
    (skipped.has(key) ? test.skip : failing.has(key) ? test.failing : test)(title, async () => {
      const fixture = await factory();
      try {
        await body(fixture);
      } finally {
        await fixture.cleanup?.();
      }
    });

  describe(`home contract: ${name}`, () => {
    withHome("verify", "putBlob verifies digest and size; a refused blob is not visible", async ({ home }) => {
      const { app } = await content();
      const [config, layer] = app.blobs;
      // Bytes of another blob under this digest.
      await expectMismatch(home.putBlob("acme/app", config!.descriptor, new Blob([layer!.bytes])));
      expect(await home.statBlob("acme/app", config!.descriptor.digest)).toBeUndefined();
      // Right bytes, wrong declared size.
      const wrongSize = { ...config!.descriptor, size: config!.descriptor.size + 1 };
      await expectMismatch(home.putBlob("acme/app", wrongSize, new Blob([config!.bytes])));
      expect(await home.statBlob("acme/app", config!.descriptor.digest)).toBeUndefined();
      // A stream that lies, cut short.
      const short = new Blob([config!.bytes.subarray(0, 10)]).stream();
      await expectMismatch(home.putBlob("acme/app", config!.descriptor, short));
      expect(await home.statBlob("acme/app", config!.descriptor.digest)).toBeUndefined();
      await expectOciError(home.blob("acme/app", config!.descriptor.digest), "BLOB_UNKNOWN");
    });

    withHome("streams", "blobs stream whole and by range, from a Blob or a stream body", async ({ home }) => {
      const { app } = await content();
      const [config, ...layers] = app.blobs;
      await home.putBlob("acme/app", config!.descriptor, new Blob([config!.bytes]).stream());
      for (const l of layers) await home.putBlob("acme/app", l.descriptor, new Blob([l.bytes]));
      for (const b of app.blobs) {
        expect(await home.statBlob("acme/app", b.descriptor.digest)).toBe(b.descriptor.size);
        const blob = await home.blob("acme/app", b.descriptor.digest);
        expect(blob.digest).toBe(b.descriptor.digest);
        expect(Buffer.from(await bytesOf(blob.stream())).equals(Buffer.from(b.bytes))).toBe(true);
        const part = await bytesOf(blob.stream({ start: 5, end: 25 }));
        expect(Buffer.from(part).equals(Buffer.from(b.bytes.subarray(5, 25)))).toBe(true);
        // Reading twice is allowed.
        expect((await bytesOf(blob.stream())).byteLength).toBe(b.descriptor.size);
      }
    });

    withHome("parallel", "the same blob put in parallel lands once, intact", async ({ home }) => {
      const layer = await generateLayer({ seed: "contract/parallel", size: 200_000 });
      await Promise.all(Array.from({ length: 6 }, () => home.putBlob("acme/app", layer.descriptor, new Blob([layer.bytes]))));
      const blob = await home.blob("acme/app", layer.descriptor.digest);
      expect(digestOf(await bytesOf(blob.stream()))).toBe(layer.descriptor.digest);
      // Putting it again is a no-op that still succeeds.
      await home.putBlob("acme/app", layer.descriptor, new Blob([layer.bytes]));
    });

    withHome("manifests", "manifests by tag and by digest resolve to the exact bytes", async ({ home }) => {
      const { app, docker } = await content();
      await pushTree(home, "acme/app", app, "1.0");
      await pushTree(home, "acme/legacy", docker);
      await expectImage(home, "acme/app", "1.0", app);
      await expectImage(home, "acme/legacy", undefined, docker);
      // Tagging later, by the same bytes.
      await home.putManifest("acme/legacy", "1", { bytes: docker.bytes, mediaType: docker.descriptor.mediaType });
      await expectImage(home, "acme/legacy", "1", docker);
    });

    withHome("index", "a multi-arch index and its children", async ({ home }) => {
      const { multi } = await content();
      await pushTree(home, "library/multi", multi, "2.0");
      await expectImage(home, "library/multi", "2.0", multi);
      expect((await home.resolve("library/multi", "2.0")).mediaType).toBe(MediaType.ociIndex);
    });

    withHome("retag", "a tag moves to a new manifest", async ({ home }) => {
      const { app, app2 } = await content();
      await pushTree(home, "acme/app", app, "latest");
      await pushTree(home, "acme/app", app2, "latest");
      expect((await home.resolve("acme/app", "latest")).digest).toBe(app2.descriptor.digest);
      expect(await home.tags("acme/app")).toEqual(["latest"]);
      // The old manifest is still there by digest.
      expect(await home.hasManifest("acme/app", app.descriptor.digest)).toBe(true);
    });

    withHome("refuse", "putManifest refuses wrong digests and invalid bytes, and (strict) missing blobs", async ({ home }) => {
      const { app, app2 } = await content();
      const m = { bytes: app.bytes, mediaType: app.descriptor.mediaType };
      if (strict) {
        await expectOciError(home.putManifest("acme/app", "1.0", m), "MANIFEST_BLOB_UNKNOWN");
        await expectOciError(home.resolve("acme/app", "1.0"), "MANIFEST_UNKNOWN", "NAME_UNKNOWN");
      }
      await putBlobs(home, "acme/app", app.blobs);
      await expectOciError(home.putManifest("acme/app", app2.descriptor.digest, m), "DIGEST_INVALID");
      await expectOciError(home.putManifest("acme/app", "1.0", { bytes: new TextEncoder().encode("{not json"), mediaType: MediaType.ociManifest }), "MANIFEST_INVALID");
      const schema1 = new TextEncoder().encode(JSON.stringify({ schemaVersion: 1, name: "x", tag: "1", fsLayers: [] }));
      await expectOciError(home.putManifest("acme/app", "1.0", { bytes: schema1, mediaType: MediaType.dockerSchema1Signed }), "MANIFEST_INVALID");
      expect(await home.hasManifest("acme/app", app.descriptor.digest)).toBe(false);
      await expectOciError(home.resolve("acme/app", "1.0"), "MANIFEST_UNKNOWN", "NAME_UNKNOWN");
    });

    withHome("list", "repositories and tags are sorted and paginate with last and limit", async ({ home }) => {
      const { app, app2, docker } = await content();
      const repos = ["zeta/app", "acme/app", "acme/b", "middle/x"];
      for (const repo of repos) await pushTree(home, repo, app, "1.0");
      for (const tag of ["v3", "v1", "v10", "v2", "latest"]) await pushTree(home, "acme/b", app2, tag);
      await pushTree(home, "acme/b", docker, "docker");
      const all = await home.repositories();
      for (const repo of repos) expect(all).toContain(repo);
      expect(all).toEqual([...all].sort());
      const first = await home.repositories({ limit: 2 });
      expect(first).toEqual(all.slice(0, 2));
      expect(await home.repositories({ last: first[1]!, limit: 2 })).toEqual(all.slice(2, 4));
      expect(await home.repositories({ last: all[all.length - 1]! })).toEqual([]);
      const tags = ["1.0", "docker", "latest", "v1", "v10", "v2", "v3"];
      expect(await home.tags("acme/b")).toEqual(tags);
      expect(await home.tags("acme/b", { limit: 3 })).toEqual(tags.slice(0, 3));
      expect(await home.tags("acme/b", { last: "latest", limit: 2 })).toEqual(["v1", "v10"]);
      expect(await home.tags("acme/b", { last: "v3" })).toEqual([]);
    });

    withHome("unknown", "unknown names and digests are the right OciError", async ({ home }) => {
      const { app } = await content();
      await expectOciError(home.tags("nobody/here"), "NAME_UNKNOWN");
      await expectOciError(home.resolve("nobody/here", "1.0"), "NAME_UNKNOWN", "MANIFEST_UNKNOWN");
      await pushTree(home, "acme/app", app, "1.0");
      await expectOciError(home.resolve("acme/app", "nope"), "MANIFEST_UNKNOWN");
      await expectOciError(home.manifest("acme/app", "nope"), "MANIFEST_UNKNOWN");
      await expectOciError(home.manifest("acme/app", UNKNOWN_DIGEST), "MANIFEST_UNKNOWN");
      await expectOciError(home.blob("acme/app", UNKNOWN_DIGEST), "BLOB_UNKNOWN");
      expect(await home.statBlob("acme/app", UNKNOWN_DIGEST)).toBeUndefined();
      expect(await home.hasManifest("acme/app", UNKNOWN_DIGEST)).toBe(false);
    });

    withHome("mount", "mount, when the home can", async ({ home }) => {
      if (!canMount(home)) return;
      const { app } = await content();
      await pushTree(home, "acme/app", app, "1.0");
      const layer = app.blobs[1]!;
      expect(await home.mountBlob("acme/other", "acme/app", layer.descriptor.digest)).toBe(true);
      expect(await home.statBlob("acme/other", layer.descriptor.digest)).toBe(layer.descriptor.size);
      expect(await home.mountBlob("acme/other", "acme/app", UNKNOWN_DIGEST)).toBe(false);
      if (options.isolatedBlobs) expect(await home.statBlob("acme/third", layer.descriptor.digest)).toBeUndefined();
    });

    withHome("referrers", "referrers, when the home lists them", async ({ home }) => {
      if (!canListReferrers(home)) return;
      const { app, signature, sbom } = await content();
      await pushTree(home, "acme/app", app, "1.0");
      expect(await home.referrers("acme/app", app.descriptor.digest)).toEqual([]);
      await pushTree(home, "acme/app", signature);
      await pushTree(home, "acme/app", sbom);
      const all = await home.referrers("acme/app", app.descriptor.digest);
      expect(all.map((d) => d.digest).sort()).toEqual([signature.descriptor.digest, sbom.descriptor.digest].sort());
      for (const d of all) expect(d.mediaType).toBe(MediaType.ociManifest);
      const sboms = await home.referrers("acme/app", app.descriptor.digest, "application/vnd.example.sbom.v1");
      expect(sboms.map((d) => ({ digest: d.digest, artifactType: d.artifactType, size: d.size }))).toEqual([
        { digest: sbom.descriptor.digest, artifactType: "application/vnd.example.sbom.v1", size: sbom.descriptor.size },
      ]);
      // An artifact is not a tag.
      expect(await home.tags("acme/app")).toEqual(["1.0"]);
    });

    withHome("deletes", "deletes, when the home can", async ({ home }) => {
      if (!canDelete(home)) return;
      const { app, app2 } = await content();
      await pushTree(home, "acme/app", app, "1.0");
      await pushTree(home, "acme/app", app2, "2.0");
      await home.deleteTag("acme/app", "2.0");
      expect(await home.tags("acme/app")).toEqual(["1.0"]);
      await expectOciError(home.deleteTag("acme/app", "2.0"), "MANIFEST_UNKNOWN");
      await home.deleteManifest("acme/app", app.descriptor.digest);
      expect(await home.hasManifest("acme/app", app.descriptor.digest)).toBe(false);
      await expectOciError(home.resolve("acme/app", "1.0"), "MANIFEST_UNKNOWN", "NAME_UNKNOWN");
      const layer = app.blobs[2]!;
      await home.deleteBlob("acme/app", layer.descriptor.digest);
      expect(await home.statBlob("acme/app", layer.descriptor.digest)).toBeUndefined();
      await expectOciError(home.deleteBlob("acme/app", layer.descriptor.digest), "BLOB_UNKNOWN");
    });

    withHome("reopen", "what was written reads back after reopening", async (fixture) => {
      if (!fixture.reopen) return;
      const { app, multi, docker, signature } = await content();
      await pushTree(fixture.home, "acme/app", app, "1.0");
      await pushTree(fixture.home, "library/multi", multi, "2.0");
      await pushTree(fixture.home, "acme/legacy", docker, "1");
      await pushTree(fixture.home, "acme/app", signature);
      const reader = await fixture.reopen();
      try {
        expect(await reader.repositories()).toEqual(["acme/app", "acme/legacy", "library/multi"]);
        await expectImage(reader, "acme/app", "1.0", app);
        await expectImage(reader, "library/multi", "2.0", multi);
        await expectImage(reader, "acme/legacy", "1", docker);
        if (canListReferrers(reader) && !skipped.has("referrers")) {
          expect((await reader.referrers("acme/app", app.descriptor.digest)).map((d) => d.digest)).toEqual([
            signature.descriptor.digest,
          ]);
        }
      } finally {
        if (isClosable(reader)) await reader.close();
      }
    });
  });
}

export interface ReadFixture {
  home: ImageReader;
  /** Where the home keeps an image named `docker.io/acme/app:1.0` (the name, without tag). */
  repository(name: string): string;
  cleanup?: () => Promise<void>;
}

export interface ReadContractOptions {
  /** The images to store; default: two images sharing a base, a docker-format one, a multi-arch index. */
  images?: () => Promise<GeneratedManifest[]>;
}

/** The standard read fixture: what most homes can hold. */
export async function readContractImages(): Promise<GeneratedManifest[]> {
  const base = await generateLayer({ seed: "read/base", size: 2500 });
  return [
    await generateImage({ name: "docker.io/acme/app:1.0", seed: "read/app", baseLayers: [base], layerSize: 1200 }),
    await generateImage({ name: "docker.io/acme/app:2.0", seed: "read/app2", baseLayers: [base], layers: 1 }),
    await generateImage({ name: "quay.io/other/tool:v1", seed: "read/tool", format: "docker", layers: 3, layerSize: 600 }),
    await generateMultiArch("docker.io/library/multi:2.0", { seed: "read/multi", baseLayers: [base], layerSize: 400 }),
  ];
}

/**
 * The read half: `open` stores the images in the home's format (each has a
 * `name`) and opens it read-only.
 */
export function runReadContract(name: string, open: (images: GeneratedManifest[]) => Promise<ReadFixture>, options: ReadContractOptions = {}): void {
  describe(`read contract: ${name}`, () => {
    test("every image resolves, with exact manifests and blobs", async () => {
      const images = await (options.images ?? readContractImages)();
      const fixture = await open(images);
      try {
        const { home } = fixture;
        const expectedRepos = new Set<string>();
        const expectedTags = new Map<string, string[]>();
        for (const image of images) {
          const ref = parseReference(image.name!);
          const repository = fixture.repository(ref.name);
          expectedRepos.add(repository);
          expectedTags.set(repository, [...(expectedTags.get(repository) ?? []), ref.tag!].sort());
          await expectImage(home, repository, ref.tag, image);
        }
        const repos = await home.repositories();
        expect(repos).toEqual([...expectedRepos].sort());
        for (const [repository, tags] of expectedTags) expect(await home.tags(repository)).toEqual(tags);
        const some = [...expectedRepos][0]!;
        await expectOciError(home.blob(some, UNKNOWN_DIGEST), "BLOB_UNKNOWN");
        await expectOciError(home.manifest(some, UNKNOWN_DIGEST), "MANIFEST_UNKNOWN");
        await expectOciError(home.resolve(some, "no-such-tag"), "MANIFEST_UNKNOWN");
        await expectOciError(home.tags("no/such/repository"), "NAME_UNKNOWN");
        expect(await home.statBlob(some, UNKNOWN_DIGEST)).toBeUndefined();
        expect(await home.hasManifest(some, UNKNOWN_DIGEST)).toBe(false);
      } finally {
        if (isClosable(fixture.home)) await fixture.home.close();
        await fixture.cleanup?.();
      }
    });
  });
}
