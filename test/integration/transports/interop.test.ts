/**
 * The local homes against real tools: skopeo reads what we write, we read
 * what skopeo and a CNCF registry write.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { imageConfigSchema, isClosable, MediaType, parseManifest } from "../../../src/oci/index.ts";
import { parseReference } from "../../../src/reference/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import { openDestination, openSource } from "../../../src/transports/index.ts";
import { startDockerRegistry } from "../../helpers/docker-registry.ts";
import { expectImage } from "../../helpers/home-contract.ts";
import { generateImage, generateLayer, generateRelease, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { pushImages, skopeo } from "../../helpers/skopeo.ts";

let root: string;
let release: GeneratedManifest[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-interop-"));
  release = await generateRelease({ seed: "interop", images: 3, layerSize: 3000 });
});
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => join(root, `${counter++}-${name}`);

async function ok(args: string[]): Promise<string> {
  const result = await skopeo(args);
  if (result.code !== 0) throw new Error(`skopeo ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function copyAll(sourceText: string, destinationText: string) {
  const source = await openSource(sourceText);
  const destination = await openDestination(destinationText);
  try {
    const summary = await syncImages(source, destination);
    expect(summary.images.failed).toBe(0);
    return summary;
  } finally {
    for (const home of new Set([source.home, destination.home])) if (isClosable(home)) await home.close();
  }
}

describe("skopeo reads what we write", () => {
  test("oci-archive: and oci: written through the homes", async () => {
    const layout = fresh("layout");
    await writeOciLayout(layout, release);
    const archive = `${fresh("bundle")}.tar`;
    const copy = fresh("copy");
    await copyAll(`oci:${layout}`, `oci-archive:${archive}`);
    await copyAll(`oci-archive:${archive}`, `oci:${copy}`);
    for (const m of release) {
      for (const where of [`oci-archive:${archive}:${m.name}`, `oci:${copy}:${m.name}`]) {
        expect(await ok(["inspect", "--raw", where])).toBe(new TextDecoder().decode(m.bytes));
      }
    }
    // skopeo walks a multi-arch image of ours and copies it out whole.
    const out = fresh("skopeo-out");
    await ok(["copy", "--all", "--quiet", `oci-archive:${archive}:docker.io/library/multi:2.0`, `oci:${out}:m`]);
    const index = await Bun.file(join(out, "index.json")).json();
    expect(index.manifests[0].digest).toBe(release.find((m) => m.name === "docker.io/library/multi:2.0")!.descriptor.digest);
  });
});

describe("we read what skopeo, podman and docker-registry write", () => {
  test("oci: layouts named as skopeo names them: repo:tag, a full reference, a bare tag, nothing", async () => {
    const src = fresh("src");
    const image = release[0]!;
    await writeOciLayout(src, [image]);
    const dir = join(fresh("d"), "site-images");
    await mkdir(join(dir, ".."), { recursive: true });
    for (const ref of ["nginx:1.25", "docker.io/library/nginx:1.26", "1.27", ""]) {
      await ok(["copy", "--quiet", `oci:${src}:${image.name}`, `oci:${dir}${ref ? `:${ref}` : ""}`]);
    }
    const source = await openSource(`oci:${dir}`);
    expect((await source.list()).map((i) => `${i.repository} ${i.reference} -> ${i.name}`).sort()).toEqual([
      "docker.io/library/nginx 1.26 -> docker.io/library/nginx:1.26",
      "nginx 1.25 -> docker.io/library/nginx:1.25",
      "site-images 1.27 -> site-images:1.27",
    ]);
    await expectImage(source.home, "nginx", "1.25", image);
    // And it lands where its name says.
    const destination = await openDestination("site:5000");
    expect((await source.list()).map((i) => destination.target(i)).sort((a, b) => (a.tag! < b.tag! ? -1 : 1))).toEqual([
      { repository: "library/nginx", tag: "1.25" },
      { repository: "library/nginx", tag: "1.26" },
      { repository: "site-images", tag: "1.27" },
    ]);
  });

  test("docker-archive: made by skopeo from an OCI image (layers decompressed, legacy folders as symlinks)", async () => {
    const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "interop/da", layers: 3, layerSize: 5000 });
    const src = fresh("da-src");
    await writeOciLayout(src, [image]);
    const archive = fresh("save.tar");
    await ok(["copy", "--quiet", `oci:${src}:${image.name}`, `docker-archive:${archive}:acme/app:1.0`]);
    const source = await openSource(`docker-archive:${archive}`);
    const [listed] = await source.list();
    expect(`${listed!.name}`).toBe("docker.io/acme/app:1.0");
    const manifest = await source.home.manifest(listed!.repository, listed!.reference);
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.kind !== "image") throw new Error("expected an image");
    // The config is the image's own; layers are its diff_ids, plain tars.
    const config = image.blobs[0]!;
    expect(parsed.manifest.config.digest).toBe(config.descriptor.digest);
    const diffIds = imageConfigSchema.parse(JSON.parse(new TextDecoder().decode(config.bytes))).rootfs!.diff_ids;
    expect(parsed.manifest.layers.map((l) => [l.mediaType, l.digest])).toEqual(diffIds.map((d) => [MediaType.dockerLayer, d]));
    for (const layer of parsed.manifest.layers) {
      const blob = await source.home.blob(listed!.repository, layer.digest);
      expect(digestOf(new Uint8Array(await blob.blob!().arrayBuffer()))).toBe(layer.digest);
    }
    // Copied into a registry, skopeo reads it back as the same image. (Not
    // through an OCI layout: skopeo 1.9 ignores index.json entries of Docker
    // media types, which is what a docker save archive holds.)
    await using registry = await startDockerRegistry();
    await copyAll(`docker-archive:${archive}`, `docker://${registry.host}`);
    const inspected = JSON.parse(await ok(["inspect", "--tls-verify=false", `docker://${registry.host}/acme/app:1.0`]));
    expect(inspected.Layers).toEqual(diffIds);
    expect(inspected.Digest).toBe(manifest.digest);
  });

  test("docker-archive: several images saved by podman save -m, shared layers once", async () => {
    const base = await generateLayer({ seed: "interop/podman-base", size: 4000 });
    const one = await generateImage({ name: "docker.io/acme/one:1", seed: "interop/podman-one", baseLayers: [base] });
    const two = await generateImage({ name: "docker.io/acme/two:2", seed: "interop/podman-two", baseLayers: [base], layers: 1 });
    // podman names what it pulls from an oci: path after the path, which must be lowercase.
    const storage = join(tmpdir(), `podman-${crypto.randomUUID().slice(0, 8)}`);
    const layout = join(storage, "layout");
    await writeOciLayout(layout, [one, two]);
    const podman = async (...args: string[]) => {
      const child = Bun.spawn(["podman", "--root", join(storage, "root"), "--runroot", join(storage, "run"), "--storage-driver", "vfs", ...args], {
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      });
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      if (code !== 0) throw new Error(`podman ${args.join(" ")}: ${err}`);
      return out;
    };
    for (const image of [one, two]) {
      const id = (await podman("pull", "-q", `oci:${layout}:${image.name}`)).trim();
      await podman("tag", id, image.name!);
    }
    await podman("tag", "docker.io/acme/one:1", "localhost:5000/one:latest");
    const archive = fresh("podman.tar");
    try {
      await podman("save", "-m", "-o", archive, "docker.io/acme/one:1", "localhost:5000/one:latest", "docker.io/acme/two:2");
    } finally {
      await rm(storage, { recursive: true, force: true });
    }
    const source = await openSource(archive);
    expect(source.spec.transport).toBe("docker-archive");
    const listed = await source.list();
    expect(listed.map((i) => `${i.name}`).sort()).toEqual(["docker.io/acme/one:1", "docker.io/acme/two:2", "localhost:5000/one:latest"]);
    await using registry = await startDockerRegistry();
    const summary = await copyAll(archive, `${registry.host}/mirror`);
    expect(summary.images.synced).toBe(3);
    for (const [image, path] of [[one, "mirror/acme/one:1"], [one, "mirror/one:latest"], [two, "mirror/acme/two:2"]] as const) {
      const inspected = JSON.parse(await ok(["inspect", "--tls-verify=false", `docker://${registry.host}/${path}`]));
      const config = imageConfigSchema.parse(JSON.parse(new TextDecoder().decode(image.blobs[0]!.bytes)));
      expect(inspected.Layers).toEqual(config.rootfs!.diff_ids);
    }
  });

  test("registry-dir: the storage a real docker-registry wrote", async () => {
    await using registry = await startDockerRegistry();
    const images = release.filter((m) => m.name && !m.name.endsWith(".sig"));
    await pushImages(
      registry.host,
      images.map((image) => {
        const ref = parseReference(image.name!);
        return { image, repository: ref.path, tag: ref.tag! };
      }),
    );
    const source = await openSource(`registry-dir:${registry.root}`);
    expect((await source.list()).map((i) => `${i.name}`).sort()).toEqual(images.map((m) => parseReference(m.name!).path + ":" + parseReference(m.name!).tag).sort());
    for (const image of images) {
      const ref = parseReference(image.name!);
      await expectImage(source.home, ref.path, ref.tag, image);
    }
    // Migrating off it: into a layout, every digest kept.
    const out = fresh("from-registry");
    await copyAll(`registry-dir:${registry.root}`, `oci:${out}`);
    for (const image of images) {
      const ref = parseReference(image.name!);
      expect(JSON.parse(await ok(["inspect", "--raw", `oci:${out}:${ref.path}:${ref.tag}`])).schemaVersion).toBe(2);
      expect(digestOf(new TextEncoder().encode(await ok(["inspect", "--raw", `oci:${out}:${ref.path}:${ref.tag}`])))).toBe(image.descriptor.digest);
    }
  });
});
