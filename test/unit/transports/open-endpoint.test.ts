/** openSource / openDestination: what each transport string lists, and where images land. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isClosable } from "../../../src/oci/index.ts";
import { parseNormalizedReference, parseReference } from "../../../src/reference/index.ts";
import { Store } from "../../../src/store/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import type { SourceImage } from "../../../src/transports/endpoint.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { type OpenedDestination, type OpenedSource, openDestination, openSource } from "../../../src/transports/open-endpoint.ts";
import { dockerArchiveBytes } from "../../helpers/docker-archive.ts";
import { pushTree } from "../../helpers/home-contract.ts";
import { generateArtifact, generateImage, generateRelease, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { writeRegistryDir } from "../../helpers/registry-dir.ts";
import { miniRegistry } from "../client/mini-registry.ts";

const fast = { retry: { baseDelayMs: 1 }, certDirs: [], env: {} };

let root: string;
let release: GeneratedManifest[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-open-"));
  release = await generateRelease({ seed: "open", images: 2, layerSize: 600 });
});
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name = "x") => join(root, `${counter++}-${name}`);

const opened: (OpenedSource | OpenedDestination)[] = [];
async function src(text: string, options = {}) {
  const s = await openSource(text, options);
  opened.push(s);
  return s;
}
async function dst(text: string, options = {}) {
  const d = await openDestination(text, options);
  opened.push(d);
  return d;
}
afterAll(async () => {
  for (const o of opened) if (isClosable(o.home)) await o.home.close().catch(() => {});
});

const show = (images: SourceImage[]) => images.map((i) => `${i.repository} ${i.reference} -> ${i.name}`).sort();

async function errorOf(promise: Promise<unknown>): Promise<TransportError> {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(TransportError);
  return error;
}

describe("sources", () => {
  test("oci: lists every named image with its full name; REF picks one", async () => {
    const dir = fresh("bundle");
    await writeOciLayout(dir, release);
    expect(show(await (await src(`oci:${dir}`)).list())).toEqual([
      "docker.io/acme/app-0 1.0 -> docker.io/acme/app-0:1.0",
      "docker.io/acme/app-0 1.0.sig -> docker.io/acme/app-0:1.0.sig",
      "docker.io/acme/app-1 1.1 -> docker.io/acme/app-1:1.1",
      "docker.io/library/multi 2.0 -> docker.io/library/multi:2.0",
    ]);
    expect(show(await (await src(`oci:${dir}:docker.io/library/multi:2.0`)).list())).toEqual(["docker.io/library/multi 2.0 -> docker.io/library/multi:2.0"]);
    // The short form matches the full name too.
    expect(show(await (await src(`oci:${dir}:multi:2.0`)).list())).toEqual(["docker.io/library/multi 2.0 -> docker.io/library/multi:2.0"]);
    const missing = await errorOf((await src(`oci:${dir}:nope:1`)).list());
    expect(missing.message).toBe(`oci:${dir}: no image named "nope:1"; it has docker.io/acme/app-0:1.0, docker.io/acme/app-1:1.1, docker.io/library/multi:2.0, docker.io/acme/app-0:1.0.sig`);
  });

  test("oci: bare tags belong to the repository given, or named after the directory", async () => {
    const dir = join(fresh(), "my-app");
    await writeOciLayout(dir, release.slice(0, 2), { refName: "tag" });
    expect(show(await (await src(`oci:${dir}`)).list())).toEqual(["my-app 1.0 -> my-app:1.0", "my-app 1.1 -> my-app:1.1"]);
    expect(show(await (await src(`oci:${dir}:1.1`, { repository: "acme/app" })).list())).toEqual(["acme/app 1.1 -> acme/app:1.1"]);
  });

  test("oci: a layout without names lists its images by digest, leaving artifacts out", async () => {
    const dir = fresh("unnamed");
    const image = await generateImage({ seed: "open/unnamed" });
    const signature = generateArtifact(image);
    // Both in index.json, neither named (as oras and `skopeo copy ... oci:DIR` leave them).
    await writeOciLayout(dir, [image, signature].map((m) => ({ ...m, name: "x:1" })), { refName: "none" });
    expect(JSON.parse(await readFile(join(dir, "index.json"), "utf8")).manifests.length).toBe(2);
    expect(show(await (await src(`oci:${dir}`, { repository: "acme/unnamed" })).list())).toEqual([
      `acme/unnamed ${image.descriptor.digest} -> acme/unnamed@${image.descriptor.digest}`,
    ]);
  });

  test("oci-archive: and a bare path to it", async () => {
    const file = `${fresh("bundle")}.tar`;
    const writer = await dst(`oci-archive:${file}`);
    for (const m of release) {
      const ref = parseReference(m.name!);
      await pushTree(writer.home, ref.name, m, ref.tag);
    }
    await (writer.home as unknown as { close(): Promise<void> }).close();
    const expected = [
      "docker.io/acme/app-0 1.0 -> docker.io/acme/app-0:1.0",
      "docker.io/acme/app-0 1.0.sig -> docker.io/acme/app-0:1.0.sig",
      "docker.io/acme/app-1 1.1 -> docker.io/acme/app-1:1.1",
      "docker.io/library/multi 2.0 -> docker.io/library/multi:2.0",
    ];
    expect(show(await (await src(`oci-archive:${file}`)).list())).toEqual(expected);
    const bare = await src(file);
    expect(bare.spec.transport).toBe("oci-archive");
    expect(show(await bare.list())).toEqual(expected);
  });

  test("docker-archive: every name, one by name, one by index; a bare path to a docker save tarball", async () => {
    const file = fresh("save.tar");
    const a = await generateImage({ name: "nginx:1.25", seed: "open/da-a", format: "docker" });
    const b = await generateImage({ name: "acme/tool:2", seed: "open/da-b", format: "docker" });
    await writeFile(file, await dockerArchiveBytes([a, b], { repoTags: (i) => [i.name!] }));
    expect(show(await (await src(`docker-archive:${file}`)).list())).toEqual([
      "docker.io/acme/tool 2 -> docker.io/acme/tool:2",
      "docker.io/library/nginx 1.25 -> docker.io/library/nginx:1.25",
    ]);
    expect(show(await (await src(`docker-archive:${file}:nginx:1.25`)).list())).toEqual(["docker.io/library/nginx 1.25 -> docker.io/library/nginx:1.25"]);
    expect(show(await (await src(`docker-archive:${file}:@1`)).list())).toEqual(["docker.io/acme/tool 2 -> docker.io/acme/tool:2"]);
    expect((await errorOf((await src(`docker-archive:${file}:@5`)).list())).message).toMatch(/no image @5; it holds 2/);
    expect((await src(file)).spec.transport).toBe("docker-archive");
  });

  test("registry-dir: all, one repository, one image; names carry no domain", async () => {
    const dir = fresh("registry");
    const [app0, app1] = release;
    await writeRegistryDir(dir, [
      { repository: "acme/app-0", tag: "1.0", image: app0! },
      { repository: "acme/app-0", tag: "latest", image: app0! },
      { repository: "acme/app-1", tag: "1.1", image: app1! },
    ]);
    expect(show(await (await src(`registry-dir:${dir}`)).list())).toEqual([
      "acme/app-0 1.0 -> acme/app-0:1.0",
      "acme/app-0 latest -> acme/app-0:latest",
      "acme/app-1 1.1 -> acme/app-1:1.1",
    ]);
    expect(show(await (await src(`registry-dir:${dir}:acme/app-0`)).list())).toEqual(["acme/app-0 1.0 -> acme/app-0:1.0", "acme/app-0 latest -> acme/app-0:latest"]);
    expect(show(await (await src(`registry-dir:${dir}:acme/app-1:1.1`)).list())).toEqual(["acme/app-1 1.1 -> acme/app-1:1.1"]);
    expect((await src(dir)).spec.transport).toBe("registry-dir");
  });

  test("store: a store's images; a missing store is not created", async () => {
    const dir = fresh("store");
    const store = await Store.open({ root: dir });
    await pushTree(store, "library/multi", release[2]!, "2.0");
    await store.close();
    expect(show(await (await src(`store:${dir}`)).list())).toEqual(["library/multi 2.0 -> library/multi:2.0"]);
    const missing = fresh("no-store");
    expect((await errorOf(src(`store:${missing}`))).message).toMatch(/no store there/);
    expect(await Bun.file(join(missing, "metadata.db")).exists()).toBe(false);
  });

  test("docker://: what is listed without asking the registry", async () => {
    const one = await src("docker://registry.example.com:5000/acme/app:1.0");
    expect(show(await one.list())).toEqual(["acme/app 1.0 -> registry.example.com:5000/acme/app:1.0"]);
    const hub = await src("docker://nginx:1.25");
    expect(show(await hub.list())).toEqual(["library/nginx 1.25 -> docker.io/library/nginx:1.25"]);
  });

  test("a registry with a path: that repository and those under it, not siblings that start alike", async () => {
    using registry = miniRegistry();
    const manifest = { bytes: new Uint8Array(), type: "", digest: "" };
    for (const repository of ["acme/app-0", "acme/app-0/debug", "acme/app-00", "acme/app-1", "other"]) registry.manifests.set(`${repository}:1.0`, manifest);
    const host = registry.host;
    const expected = ["acme/app-0", "acme/app-0/debug"].map((r) => `${r} 1.0 -> ${host}/${r}:1.0`);
    for (const text of [`${host}/acme/app-0`, `docker://${host}/acme/app-0/`]) {
      const s = await src(text, { registry: fast });
      expect(s.description).toBe(`docker://${host}/acme/app-0`);
      expect(show(await s.list())).toEqual(expected);
    }
    expect(show(await (await src(`${host}/acme`, { registry: fast })).list())).toHaveLength(4);
    const none = await src(`${host}/acme/app-9`, { registry: fast });
    expect([none.description, await none.list()]).toEqual([`docker://${host}/acme/app-9`, []]);
  });

  test("mistakes: missing paths, wrong kinds of thing", async () => {
    expect((await errorOf(src(`oci:${fresh()}`))).message).toMatch(/no such directory/);
    expect((await errorOf(src(`oci-archive:${fresh()}`))).message).toMatch(/no such file/);
    expect((await errorOf(src(`docker-archive:${fresh()}`))).message).toMatch(/no such file/);
    expect((await errorOf(src(`registry-dir:${fresh()}`))).message).toMatch(/no such directory/);
    expect((await errorOf(src(fresh()))).message).toMatch(/no such file or directory/);
    const notes = fresh("notes.txt");
    await writeFile(notes, "hello, not a tar");
    expect((await errorOf(src(notes))).message).toMatch(/not an OCI archive or a docker save archive/);
    const dir = fresh("plain");
    await mkdir(dir);
    expect((await errorOf(src(dir))).message).toMatch(/not an OCI layout, a store or a registry's storage; name the transport/);
  });
});

describe("destinations", () => {
  const nginx: SourceImage = { repository: "r", reference: "1.25", name: parseNormalizedReference("nginx:1.25") };

  test.each<[string, Record<string, unknown>, { repository: string; tag?: string }]>([
    ["docker://site.local:5000", {}, { repository: "library/nginx", tag: "1.25" }],
    ["docker://site.local:5000", { prefix: "p" }, { repository: "p/library/nginx", tag: "1.25" }],
    ["docker://site.local:5000", { prefix: "p/q/" }, { repository: "p/q/library/nginx", tag: "1.25" }],
    ["docker://site.local:5000/mirror/", {}, { repository: "mirror/library/nginx", tag: "1.25" }],
    ["docker://site.local:5000/mirror", { prefix: "p" }, { repository: "mirror/p/library/nginx", tag: "1.25" }],
    ["site:5000", {}, { repository: "library/nginx", tag: "1.25" }],
    ["localhost:5000/mirror", {}, { repository: "mirror/library/nginx", tag: "1.25" }],
    ["docker://site.local:5000/web/front:7", {}, { repository: "web/front", tag: "7" }],
  ])("%s %j", async (text, options, expected) => {
    expect((await dst(text, options)).target(nginx)).toEqual(expected);
  });

  test("layouts keep the full name; a REF names the one image", async () => {
    expect((await dst(`oci:${fresh()}`)).target(nginx)).toEqual({ repository: "docker.io/library/nginx", tag: "1.25" });
    expect((await dst(`oci:${fresh()}:web:7`)).target(nginx)).toEqual({ repository: "web", tag: "7" });
    const bare = await dst(`oci:${join(fresh(), "site-images")}:7`);
    expect(bare.naming).toEqual({ kind: "image", repository: "site-images", tag: "7" });
    expect((await dst(`oci-archive:${fresh()}.tar`)).target(nginx)).toEqual({ repository: "docker.io/library/nginx", tag: "1.25" });
    expect((await dst(`store:${fresh()}`, { prefix: "mirror" })).target(nginx)).toEqual({ repository: "mirror/library/nginx", tag: "1.25" });
  });

  test("a new bare path: a .tar is an archive, anything else a layout directory", async () => {
    expect((await dst(`${fresh()}.tar`)).spec.transport).toBe("oci-archive");
    expect((await dst(fresh())).spec.transport).toBe("oci");
  });

  test("mistakes: read-only transports, --prefix where it means nothing", async () => {
    expect((await errorOf(dst(`docker-archive:${fresh()}`))).message).toMatch(/docker-archive: is read-only/);
    expect((await errorOf(dst(`registry-dir:${fresh()}`))).message).toMatch(/registry-dir: is read-only/);
    const dir = fresh();
    expect((await errorOf(dst(`oci:${dir}`, { prefix: "p" }))).message).toBe(`--prefix applies to a registry or store destination, not to "oci:${dir}"`);
    expect((await errorOf(dst("docker://site.local/app:1", { prefix: "p" }))).kind).toBe("invalid-spec");
  });

  test("an invalid --prefix is refused before the destination is opened (no store is created)", async () => {
    for (const prefix of ["A", "..", "/mirror", "a//b", "a_", ""]) {
      const dir = fresh("prefixed-store");
      const error = await errorOf(dst(`store:${dir}`, { prefix }));
      expect([error.kind, error.message]).toEqual(["invalid-spec", expect.stringMatching(new RegExp(`^Invalid --prefix ${JSON.stringify(prefix).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: `))]);
      expect(await Bun.file(join(dir, "metadata.db")).exists()).toBe(false);
    }
  });
});

describe("end to end through the copy engine", () => {
  test("oci-archive → store → oci-archive keeps names and digests; the archive is reproducible", async () => {
    const first = `${fresh("first")}.tar`;
    const writer = await openDestination(`oci-archive:${first}`);
    for (const m of release) {
      const ref = parseReference(m.name!);
      await pushTree(writer.home, ref.name, m, ref.tag);
    }
    await (writer.home as unknown as { close(): Promise<void> }).close();

    const storeDir = fresh("store");
    const a = await openSource(first);
    const b = await openDestination(`store:${storeDir}`);
    const summary1 = await syncImages(a, b);
    await closeAll(a, b);
    expect(summary1.images.failed).toBe(0);

    const second = `${fresh("second")}.tar`;
    const c = await openSource(`store:${storeDir}`);
    const d = await openDestination(`oci-archive:${second}`);
    await syncImages(c, d);
    await closeAll(c, d);
    const back = await openSource(`oci-archive:${second}`);
    expect(show(await back.list())).toEqual([
      "acme/app-0 1.0 -> docker.io/acme/app-0:1.0",
      "acme/app-0 1.0.sig -> docker.io/acme/app-0:1.0.sig",
      "acme/app-1 1.1 -> docker.io/acme/app-1:1.1",
      "library/multi 2.0 -> docker.io/library/multi:2.0",
    ]);
    for (const m of release) {
      const ref = parseReference(m.name!);
      expect((await back.home.resolve(ref.path, ref.tag!)).digest).toBe(m.descriptor.digest);
    }
    // Same content, same bytes: write it again elsewhere and compare.
    const third = `${fresh("third")}.tar`;
    const e = await openSource(`store:${storeDir}`);
    const f = await openDestination(`oci-archive:${third}`);
    await syncImages(e, f);
    await closeAll(e, f);
    expect(Bun.hash(await Bun.file(third).bytes())).toBe(Bun.hash(await Bun.file(second).bytes()));
  });
});

async function closeAll(...endpoints: { home: object }[]) {
  for (const e of endpoints) if (isClosable(e.home)) await e.home.close();
}
