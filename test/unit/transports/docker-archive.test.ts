/** docker-archive: the shapes docker and skopeo write, converted deterministically; broken archives refused. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyStream } from "../../../src/digest/index.ts";
import { MediaType, parseManifest } from "../../../src/oci/index.ts";
import { DockerArchiveHome } from "../../../src/transports/docker-archive/docker-archive-home.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { OciArchiveReader } from "../../../src/transports/oci-archive/oci-archive-reader.ts";
import { dockerArchiveBytes, type DockerArchiveStyle } from "../../helpers/docker-archive.ts";
import { runReadContract } from "../../helpers/home-contract.ts";
import { buildTar, generateImage, generateLayer, type GeneratedManifest } from "../../helpers/images.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-docker-archive-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;

async function archive(images: GeneratedManifest[], style: DockerArchiveStyle = "legacy", repoTags?: (i: GeneratedManifest) => string[]) {
  const path = join(root, `a${counter++}.tar`);
  await writeFile(path, await dockerArchiveBytes(images, { style, repoTags }));
  return path;
}

/** Docker-format images, as docker save holds them: gzip layers shared, and one with plain tar layers. */
async function dockerImages(): Promise<GeneratedManifest[]> {
  const base = await generateLayer({ seed: "da/base", size: 3000, format: "docker" });
  return [
    await generateImage({ name: "docker.io/acme/app:1.0", seed: "da/app", format: "docker", baseLayers: [base] }),
    await generateImage({ name: "docker.io/acme/app:2.0", seed: "da/app2", format: "docker", baseLayers: [base], layers: 1 }),
    await generateImage({ name: "localhost:5000/plain/tar:v1", seed: "da/plain", format: "docker", compression: "none", layers: 3 }),
  ];
}

for (const style of ["legacy", "symlink", "oci"] as const) {
  runReadContract(
    `docker-archive: (${style})`,
    async (images) => ({ home: await DockerArchiveHome.open(await archive(images, style)), repository: (name) => name }),
    { images: dockerImages },
  );
}

describe("conversion", () => {
  test("RepoTags in short form are normalised; one image under several names", async () => {
    const [app] = await dockerImages();
    const path = await archive([app!], "legacy", () => ["nginx:1.25", "acme/app:latest", "registry.example.com:5000/x/y:z"]);
    const home = await DockerArchiveHome.open(path);
    expect(await home.repositories()).toEqual(["docker.io/acme/app", "docker.io/library/nginx", "registry.example.com:5000/x/y"]);
    const listed = await home.list();
    expect(listed.map((i) => `${i.repository}:${i.tag}`)).toEqual([
      "docker.io/library/nginx:1.25",
      "docker.io/acme/app:latest",
      "registry.example.com:5000/x/y:z",
    ]);
    expect(new Set(listed.map((i) => i.digest))).toEqual(new Set([app!.descriptor.digest]));
  });

  test("an untagged image is known by digest; the legacy repositories file names it when it can", async () => {
    const [app, app2] = await dockerImages();
    const path = await archive([app!, app2!], "legacy", (i) => (i === app ? [] : [i.name!]));
    const home = await DockerArchiveHome.open(path, { tagRepository: "unnamed" });
    const listed = await home.list();
    expect(listed.map((i) => ({ repository: i.repository, reference: i.reference }))).toEqual([
      { repository: "unnamed", reference: app!.descriptor.digest },
      { repository: "docker.io/acme/app", reference: "2.0" },
    ]);
    expect((await home.manifest("unnamed", app!.descriptor.digest)).digest).toBe(app!.descriptor.digest);
    // With a repositories entry pointing at its top layer, it gets that name.
    const withRepos = join(root, `a${counter++}.tar`);
    const bytes = await dockerArchiveBytes([app!], { style: "legacy" });
    await writeFile(withRepos, await retagViaRepositories(bytes));
    const named = await DockerArchiveHome.open(withRepos);
    expect((await named.list()).map((i) => `${i.repository}:${i.tag}`)).toEqual(["docker.io/acme/app:1.0"]);
  });

  test("OCI-format images and layers: media types come from the bytes, the manifest is schema2 and stable", async () => {
    const image = await generateImage({ name: "docker.io/acme/oci:1", seed: "da/oci-format", layers: 2 });
    const path = await archive([image]);
    const first = await (await DockerArchiveHome.open(path)).manifest("docker.io/acme/oci", "1");
    const again = await (await DockerArchiveHome.open(path)).manifest("docker.io/acme/oci", "1");
    expect(again.digest).toBe(first.digest);
    const parsed = parseManifest(first.bytes, first.mediaType);
    if (parsed.kind !== "image") throw new Error("expected an image manifest");
    expect(parsed.mediaType).toBe(MediaType.dockerManifest);
    expect(parsed.manifest.config.mediaType).toBe(MediaType.dockerConfig);
    expect(parsed.manifest.layers.map((l) => [l.mediaType, l.digest])).toEqual(
      image.blobs.slice(1).map((b) => [MediaType.dockerLayerGzip, b.descriptor.digest]),
    );
  });

  test("a docker 25+ archive also reads as an oci-archive, with the original manifests", async () => {
    const images = await dockerImages();
    const path = await archive(images, "oci");
    const reader = await OciArchiveReader.open(path);
    expect(await reader.repositories()).toEqual(["docker.io/acme/app", "localhost:5000/plain/tar"]);
    expect((await reader.resolve("docker.io/acme/app", "1.0")).digest).toBe(images[0]!.descriptor.digest);
  });
});

describe("broken archives", () => {
  async function expectRefused(bytes: Uint8Array, message: RegExp, step: (home: DockerArchiveHome) => Promise<unknown> = (h) => h.list()) {
    const path = join(root, `bad${counter++}.tar`);
    await writeFile(path, bytes);
    const error = await DockerArchiveHome.open(path)
      .then(step)
      .then(
        () => undefined,
        (e) => e,
      );
    expect(error).toBeInstanceOf(TransportError);
    expect(error.message).toMatch(message);
  }
  const text = (s: string) => new TextEncoder().encode(s);

  test("no manifest.json", async () => {
    await expectRefused(await buildTar([{ name: "x", data: text("y") }]), /not a docker save archive: no manifest.json$/);
    await expectRefused(await buildTar([{ name: "repositories", data: text("{}") }]), /Docker before 1.10/);
  });

  test("manifest.json that is not JSON, or not the right shape", async () => {
    await expectRefused(await buildTar([{ name: "manifest.json", data: text("[{") }]), /manifest.json is not valid JSON/);
    await expectRefused(await buildTar([{ name: "manifest.json", data: text('[{"Config":1}]') }]), /manifest.json is not what docker save writes: 0.Config/);
    await expectRefused(await buildTar([{ name: "manifest.json", data: text('[{"Config":"c","RepoTags":["Bad Name"],"Layers":[]}]') }]), /invalid name "Bad Name"/);
  });

  test("a layer or the config missing from the archive", async () => {
    const [app] = await dockerImages();
    const bytes = await dockerArchiveBytes([app!]);
    const manifest = JSON.parse(await extract(bytes, "manifest.json"));
    const missingLayer = await replaceEntry(bytes, "manifest.json", JSON.stringify([{ ...manifest[0], Layers: [...manifest[0].Layers, "gone/layer.tar"] }]));
    await expectRefused(missingLayer, /layer "gone\/layer.tar" is missing from the archive/);
    const missingConfig = await replaceEntry(bytes, "manifest.json", JSON.stringify([{ ...manifest[0], Config: "nope.json" }]));
    await expectRefused(missingConfig, /config "nope.json" is missing from the archive/);
  });

  test("a layer whose bytes do not match its digest is served; the consumer's check fails", async () => {
    const images = await dockerImages();
    const plain = images[2]!; // plain tar layers: the digest comes from the config's diff_ids
    const bytes = await dockerArchiveBytes([plain]);
    const layer = plain.blobs[1]!;
    const at = Buffer.from(bytes).indexOf(Buffer.from(layer.bytes.subarray(0, 64)));
    bytes[at + 700] = bytes[at + 700]! ^ 0xff;
    const path = join(root, `corrupt${counter++}.tar`);
    await writeFile(path, bytes);
    const home = await DockerArchiveHome.open(path);
    const blob = await home.blob("localhost:5000/plain/tar", layer.descriptor.digest);
    const verified = blob.stream().pipeThrough(verifyStream(layer.descriptor));
    await expect(new Response(verified).arrayBuffer()).rejects.toThrow(/digest mismatch/);
  });
});

async function extract(tar: Uint8Array, name: string): Promise<string> {
  const path = join(root, `x${counter++}.tar`);
  await writeFile(path, tar);
  const { TarIndex } = await import("../../../src/transports/tar/tar-index.ts");
  return (await TarIndex.open(path)).file(name)!.text();
}

/** Rebuild an archive with one entry's content replaced. */
async function replaceEntry(tar: Uint8Array, name: string, content: string): Promise<Uint8Array> {
  const path = join(root, `r${counter++}.tar`);
  await writeFile(path, tar);
  const { TarIndex } = await import("../../../src/transports/tar/tar-index.ts");
  const index = await TarIndex.open(path);
  const entries = [];
  for (const e of index.entries.values()) {
    if (e.name === name) entries.push({ name, data: new TextEncoder().encode(content) });
    else if (e.type === "file") entries.push({ name: e.name, data: new Uint8Array(await index.file(e.name)!.arrayBuffer()) });
    else if (e.type === "symlink") entries.push({ name: e.name, type: "symlink" as const, linkname: e.target! });
  }
  return buildTar(entries);
}

/** Drop RepoTags so only the repositories file names the image. */
async function retagViaRepositories(tar: Uint8Array): Promise<Uint8Array> {
  const manifest = JSON.parse(await extract(tar, "manifest.json"));
  return replaceEntry(tar, "manifest.json", JSON.stringify([{ ...manifest[0], RepoTags: null }]));
}

