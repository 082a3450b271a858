/**
 * `stevedore bundle create|inspect|verify` as a user runs them, with real
 * registries on loopback as the upstream: a CNCF docker-registry (one with
 * htpasswd auth) and `stevedore serve`, filled with generated images.
 * Bundles are checked with skopeo (oci-archive:, oci:, docker-archive:),
 * copied from with skopeo, and synced with stevedore into empty registries.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import { openDestination, openSource, TarIndex } from "../../../src/transports/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
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
import { pushImages, skopeo } from "../../helpers/skopeo.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "bundle-cli-"));

let registry: DockerRegistry;
let serve: RunningServe;
let release: GeneratedManifest[];
let helper: GeneratedManifest;

/** Fill a registry from generated images through our own sync (images keep their paths). */
async function seed(host: string, items: GeneratedManifest[], name: string): Promise<void> {
  const layout = join(dir, `seed-${name}`);
  await writeOciLayout(layout, items);
  const summary = await syncImages(await openSource(`oci:${layout}`), await openDestination(host));
  if (summary.failures.length) throw new Error(`seeding ${host}: ${JSON.stringify(summary.failures)}`);
}

/** `docker.io/acme/app:1` → `HOST/acme/app:1`: where the image is upstream. */
const at = (host: string, name: string) => {
  const ref = parseNormalizedReference(name);
  return `${host}/${ref.path}${ref.tag ? `:${ref.tag}` : ""}`;
};

beforeAll(async () => {
  [registry, serve] = await Promise.all([startDockerRegistry(), startServe()]);
  release = await generateRelease({ layerSize: 32 * 1024, images: 4 });
  helper = await generateImage({ name: "docker.io/tools/helper:1", seed: "helper", layerSize: 16 * 1024 });
  await Promise.all([seed(registry.host, release, "release"), seed(serve.host, [helper], "helper")]);
});
afterAll(async () => {
  await Promise.all([registry?.stop(), serve?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!);
const sha256 = async (path: string) => digestOf(await Bun.file(path).bytes());
const uniqueCount = (items: GeneratedManifest[]) => allBlobs(items).length + allManifests(items).length;

async function digestBySkopeo(location: string, ...flags: string[]): Promise<string> {
  const result = await skopeo(["inspect", "--raw", ...flags, location]);
  if (result.code !== 0) throw new Error(`skopeo inspect ${location}: ${result.stderr}`);
  return digestOf(result.stdout);
}

describe("bundle create", () => {
  const refs = () => [...release.map((r) => at(registry.host, r.name!)), at(serve.host, helper.name!)];

  test("a tar from two registries: one entry per image by full name, each blob once; skopeo reads and copies it", async () => {
    const out = join(dir, "release.tar");
    const { code, stdout, stderr } = await cli("bundle", "create", ...refs(), "-o", out, "--json");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const bundle = lastJson(stdout);
    expect(bundle).toMatchObject({ type: "bundle", format: "archive", blobs: uniqueCount([...release, helper]), dockerImages: 5 });
    expect(bundle.images.map((i: { name: string; digest: string }) => `${i.name} ${i.digest}`)).toEqual(
      [...release, helper].map((r) => `${at(r === helper ? serve.host : registry.host, r.name!)} ${r.descriptor.digest}`).sort(),
    );
    const tar = await TarIndex.open(out);
    expect([...tar.under("blobs/sha256")].length).toBe(uniqueCount([...release, helper]));
    for (const item of [...release, helper]) {
      const name = at(item === helper ? serve.host : registry.host, item.name!);
      expect(await digestBySkopeo(`oci-archive:${out}:${name}`)).toBe(item.descriptor.digest);
    }
    // skopeo copies out of the bundle into a registry, whole.
    const multi = release.find((r) => r.children.length)!;
    const copied = await skopeo([
      "copy", "--all", "--quiet", "--dest-tls-verify=false",
      `oci-archive:${out}:${at(registry.host, multi.name!)}`, `docker://${serve.host}/copied/multi:2.0`,
    ]);
    expect(copied.stderr).toBe("");
    expect(await digestBySkopeo(`docker://${serve.host}/copied/multi:2.0`, "--tls-verify=false")).toBe(multi.descriptor.digest);
    // manifest.json: docker-archive readers see the single-platform images.
    const app0 = at(registry.host, release[0]!.name!);
    const docker = await skopeo(["inspect", `docker-archive:${out}:${app0}`]);
    expect(docker.code).toBe(0);
    // skopeo names docker-archive layers by their diff_ids (the uncompressed tars).
    expect(JSON.parse(docker.stdout).Layers).toEqual(release[0]!.blobs.slice(1).map((b) => (b as Layer).diffId));
    // podman loads the docker-loadable images through manifest.json, each under its full name.
    const podman = Bun.spawn(
      ["podman", "--root", join(dir, "podman-root"), "--runroot", join(dir, "podman-run"), "--storage-driver", "vfs", "load", "-i", out],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
    );
    const [loaded, podmanErr, podmanCode] = await Promise.all([new Response(podman.stdout).text(), new Response(podman.stderr).text(), podman.exited]);
    expect({ code: podmanCode, error: podmanCode ? podmanErr : "" }).toEqual({ code: 0, error: "" });
    expect(loaded.split("\n").filter((l) => l.startsWith("Loaded image")).sort()).toEqual(
      [...release.slice(0, 4), helper].map((r) => `Loaded image: ${at(r === helper ? serve.host : registry.host, r.name!)}`).sort(),
    );
    const verified = await cli("bundle", "verify", out);
    expect({ code: verified.code, stdout: verified.stdout }).toEqual({
      code: 0,
      stdout: `ok: ${out}: ${uniqueCount([...release, helper])} blobs (${(bundle.bytes / 1000).toFixed(1)} kB) hashed, ${release.length + 1} index entries checked\n`,
    });
  });

  test("reproducible and resumable: the same sha256 twice; a directory skopeo reads; a re-run downloads nothing", async () => {
    const a = join(dir, "a.tar");
    const b = join(dir, "b.tar");
    const list = join(dir, "images.txt");
    writeFileSync(list, `# the release\n${refs().reverse().join("\n")}\n`);
    expect((await cli("bundle", "create", ...refs(), "-o", a)).code).toBe(0);
    expect((await cli("bundle", "create", "-f", list, "-o", b, "--parallel", "2")).code).toBe(0);
    expect(await sha256(a)).toBe(await sha256(b));
    const d = join(dir, "release-dir");
    const first = await cli("bundle", "create", ...refs(), "-o", d);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote .*release-dir: 7 images, \d+ blobs, [\d.]+ kB · index\.json sha256:[0-9a-f]{64}$/m);
    for (const item of release) expect(await digestBySkopeo(`oci:${d}:${at(registry.host, item.name!)}`)).toBe(item.descriptor.digest);
    const again = await cli("bundle", "create", ...refs(), "-o", d, "--json");
    const summary = JSON.parse(again.stdout.trim().split("\n").at(-2)!);
    expect(summary).toMatchObject({ type: "summary", blobs: { pushed: 0 }, bytes: 0 });
    const forced = await cli("bundle", "create", ...refs(), "-o", d, "--json", "--force-pull");
    expect(JSON.parse(forced.stdout.trim().split("\n").at(-2)!).blobs.pushed).toBeGreaterThan(0);
    expect((await TarIndex.open(a)).file("index.json")!.size).toBe(Bun.file(join(d, "index.json")).size);
  });

  test("images.yaml pins digests and platforms", async () => {
    const multi = release.find((r) => r.children.length)!;
    const app1 = release[1]!;
    const list = join(dir, "images.yaml");
    writeFileSync(
      list,
      `images:
  - ${at(registry.host, release[0]!.name!)}
  # not a tag upstream: the digest is what is pulled, the tag only names it here
  - image: ${registry.host}/acme/app-1:pinned
    digest: ${app1.descriptor.digest}
  - image: ${at(registry.host, multi.name!)}
    platforms: [linux/arm64]
`,
    );
    const out = join(dir, "pinned.tar");
    const { code, stderr } = await cli("bundle", "create", "-f", list, "-o", out);
    expect({ code, stderr }).toEqual({
      code: 0,
      stderr: `stevedore: note: ${at(registry.host, multi.name!)}: copying linux/arm64/v8 only; the digest changes from ${multi.descriptor.digest} to ${multi.children[1]!.descriptor.digest}\n`,
    });
    const report = JSON.parse((await cli("bundle", "inspect", out, "--json")).stdout);
    expect(report.images.map((i: { name: string; digest: string; platforms: string[] }) => [i.name, i.digest, i.platforms])).toEqual([
      [at(registry.host, release[0]!.name!), release[0]!.descriptor.digest, ["linux/amd64"]],
      [`${registry.host}/acme/app-1:pinned`, app1.descriptor.digest, ["linux/amd64"]],
      [at(registry.host, multi.name!), multi.children[1]!.descriptor.digest, ["linux/arm64/v8"]],
    ]);
    expect(report.dockerImages).toBe(3);
  });

  test("bad input: a malformed list line names file and line; an unknown image leaves no file behind", async () => {
    const list = join(dir, "bad.txt");
    writeFileSync(list, `${refs()[0]}\n\n${registry.host}/Acme/App:1\n`);
    const malformed = await cli("bundle", "create", "-f", list, "-o", join(dir, "bad.tar"));
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toStartWith(`stevedore: bundle create: ${list}:3: repository name must be lowercase`);
    const out = join(dir, "unknown.tar");
    const unknown = await cli("bundle", "create", refs()[0]!, `${registry.host}/acme/nope:1`, "-o", out);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`stevedore: cannot pull "${registry.host}/acme/nope:1": `);
    expect(unknown.stderr).toEndWith("stevedore: No bundle written: 1 of 2 images failed\n");
    expect(readdirSync(dir).filter((n) => n.includes("unknown.tar"))).toEqual([]);
    const missingOutput = await cli("bundle", "create", refs()[0]!);
    expect(missingOutput).toMatchObject({ code: 2, stdout: "" });
  });

  test("interrupted mid-copy (SIGINT): exit 130, no output file, no temporary file", async () => {
    const big = await generateRelease({ images: 3, layerSize: 2 * 1024 * 1024, seed: "interrupt" });
    await seed(registry.host, big, "interrupt");
    const out = join(dir, "interrupted.tar");
    const child = Bun.spawn(
      [process.execPath, MAIN, "bundle", "create", ...big.map((i) => at(registry.host, i.name!)), "-o", out, "--parallel", "1", "--json"],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
    );
    // Keep reading stdout after the signal: a closed pipe would fail the writes, not the signal.
    let seen = "";
    let signalled = false;
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of child.stdout) {
        seen += decoder.decode(chunk, { stream: true });
        if (!signalled && seen.includes('"type":"blob-done"')) {
          signalled = true;
          child.kill("SIGINT");
        }
      }
    })();
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text(), reading]);
    expect(signalled).toBe(true);
    expect({ code, stderr }).toEqual({ code: 130, stderr: "" });
    expect(readdirSync(dir).filter((n) => n.includes("interrupted.tar"))).toEqual([]);
  });

  test("an upstream that wants a password: --creds", async () => {
    await using secured = await startDockerRegistry({ auth: { username: "ops", password: "s3cret" } });
    await pushImages(secured.host, [{ image: helper, repository: "tools/helper", tag: "1" }], { creds: "ops:s3cret" });
    const ref = `${secured.host}/tools/helper:1`;
    const denied = await cli("bundle", "create", ref, "-o", join(dir, "denied.tar"));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/auth|denied|unauthorized/i);
    const out = join(dir, "secured.tar");
    const { code, stderr } = await cli("bundle", "create", ref, "-o", out, "--creds", "ops:s3cret");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(await digestBySkopeo(`oci-archive:${out}:${ref}`)).toBe(helper.descriptor.digest);
  });
});

describe("delta bundles and damaged bundles", () => {
  let base: string;
  let delta: string;
  let v2: GeneratedManifest[];

  beforeAll(async () => {
    const a: Layer = await generateLayer({ seed: "it-delta/a", size: 24 * 1024 });
    const b: Layer = await generateLayer({ seed: "it-delta/b", size: 24 * 1024 });
    const app = (name: string, baseLayers: Layer[]) => generateImage({ name, seed: name, baseLayers, layerSize: 8 * 1024 });
    const api1 = await app("docker.io/delta/api:1", [a, b]);
    const v1 = [await app("docker.io/delta/web:1", [a]), api1];
    v2 = [await app("docker.io/delta/web:2", [a]), api1, await app("docker.io/delta/worker:2", [b])];
    await seed(registry.host, [...v1, ...v2], "delta");
    base = join(dir, "app-1.tar");
    delta = join(dir, "app-2.tar");
    expect((await cli("bundle", "create", ...v1.map((i) => at(registry.host, i.name!)), "-o", base)).code).toBe(0);
  });

  test("a delta holds only what its base lacks; base then delta sync into an empty registry; the delta alone fails naming the base", async () => {
    const made = await cli("bundle", "create", ...v2.map((i) => at(registry.host, i.name!)), "-o", delta, "--since", base);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^delta: needs the base bundle "app-1\.tar" \(index\.json sha256:[0-9a-f]{64}\); 4 blobs \([\d.]+ kB\) left to it$/m);
    const inspected = await cli("bundle", "inspect", delta);
    expect(inspected.stdout).toContain('delta: needs the base bundle "app-1.tar"');
    expect((await cli("bundle", "verify", delta)).stdout).toContain("; 4 blobs left to the base bundle");

    await using empty = await startDockerRegistry();
    expect((await cli("sync", base, empty.host)).code).toBe(0);
    const synced = await cli("sync", delta, empty.host);
    expect({ code: synced.code, stderr: synced.stderr }).toEqual({ code: 0, stderr: "" });
    for (const image of v2) {
      expect(await digestBySkopeo(`docker://${at(empty.host, at(registry.host, image.name!))}`, "--tls-verify=false")).toBe(image.descriptor.digest);
    }

    await using other = await startDockerRegistry();
    const alone = await cli("sync", delta, other.host);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(
      /blob sha256:[0-9a-f]{64} is not in oci-archive:.*app-2\.tar: this delta bundle leaves it to the base bundle "app-1\.tar" \(index\.json sha256:[0-9a-f]{64}\); sync that bundle into the destination first/,
    );
  });

  test("a flipped byte in a layer: verify names the file, sync refuses the blob", async () => {
    const damaged = join(dir, "damaged.tar");
    await Bun.write(damaged, Bun.file(base));
    const tar = await TarIndex.open(damaged);
    const layer = [...tar.under("blobs/sha256")].find((e) => e.size > 20 * 1024)!;
    const handle = await open(damaged, "r+");
    const byte = new Uint8Array(1);
    await handle.read(byte, 0, 1, layer.offset + 1000);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, layer.offset + 1000);
    await handle.close();
    const verified = await cli("bundle", "verify", damaged);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`^${damaged}: ${layer.name}: content hashes to sha256:[0-9a-f]{64}$`, "m"));
    expect(verified.stderr).toBe(`stevedore: ${damaged}: 1 problem\n`);
    await using empty = await startDockerRegistry();
    const synced = await cli("sync", damaged, empty.host);
    expect(synced.code).toBe(1);
    expect(synced.stderr).toContain(layer.name.split("/").at(-1)!);
    expect(existsSync(damaged)).toBe(true);
  });
});
