/**
 * `stevedore sync` and `stevedore push` as a user runs them, against a real
 * CNCF docker-registry: from an OCI layout, from a docker-archive skopeo
 * wrote, into the embedded store served by `stevedore serve`; killed with
 * SIGKILL mid-copy and run again. Every tag is checked with skopeo.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { generateRelease, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { skopeo } from "../../helpers/skopeo.ts";
import { startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "sync-cli-"));
const layout = join(dir, "layout");
let release: GeneratedManifest[];
let registry: DockerRegistry;

beforeAll(async () => {
  release = await generateRelease({ layerSize: 32 * 1024, images: 4 });
  await writeOciLayout(layout, release);
  registry = await startDockerRegistry();
});
afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function spawnCli(args: string[]) {
  return Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
}

async function cli(...args: string[]) {
  const child = spawnCli(args);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

async function digestBySkopeo(reference: string): Promise<string> {
  const result = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reference}`]);
  if (result.code !== 0) throw new Error(`skopeo inspect ${reference}: ${result.stderr}`);
  return digestOf(result.stdout);
}

/** `path:tag digest` for each image, as the registry at `host` has it. */
async function tagsAt(host: string, names: string[], prefix = ""): Promise<string[]> {
  return Promise.all(
    names.map(async (n) => {
      const ref = parseNormalizedReference(n);
      return `${ref.path}:${ref.tag} ${await digestBySkopeo(`${host}/${prefix}${ref.path}:${ref.tag}`)}`;
    }),
  );
}

const expected = (items: GeneratedManifest[]) =>
  items.map((i) => {
    const ref = parseNormalizedReference(i.name!);
    return `${ref.path}:${ref.tag} ${i.descriptor.digest}`;
  });

describe("stevedore sync", () => {
  test("oci: layout into docker-registry: every tag on its digest; --json summary; a re-run skips all", async () => {
    const first = await cli("sync", `oci:${layout}`, registry.host, "--prefix", "site", "--json");
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = first.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: "summary", images: { total: release.length, synced: release.length, failed: 0 } });
    expect(await tagsAt(registry.host, release.map((i) => i.name!), "site/")).toEqual(expected(release));
    const again = await cli("sync", `oci:${layout}`, registry.host, "--prefix", "site");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`images: 0 synced, ${release.length} skipped, 0 failed · blobs: 0 pushed, 0 mounted, 0 skipped`);
  });

  test("between repositories of one registry: blobs are mounted, not moved", async () => {
    const image = release[0]!;
    const ref = parseNormalizedReference(image.name!);
    await cli("push", `oci:${layout}:${image.name}`, `${registry.host}/one`);
    const { code, stdout } = await cli("sync", `docker://${registry.host}/one/${ref.path}:${ref.tag}`, `${registry.host}/two`, "--json");
    expect(code).toBe(0);
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(summary.blobs).toEqual({ pushed: 0, mounted: image.blobs.length, skipped: 0 });
    expect(await digestBySkopeo(`${registry.host}/two/one/${ref.path}:${ref.tag}`)).toBe(image.descriptor.digest);
  });

  test("--dry-run moves nothing", async () => {
    const { code, stdout } = await cli("sync", `oci:${layout}`, registry.host, "--prefix", "dry", "--dry-run");
    expect(code).toBe(0);
    expect(stdout).toContain(`total: ${release.length} images (${release.length} to copy, 0 to tag, 0 present, 0 failed) · `);
    const probe = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/dry/acme/app-0:1.0`]);
    expect(probe.code).not.toBe(0);
  });

  test("--platform with one platform pushes that platform's manifest and says so", async () => {
    const multi = release.find((i) => i.children.length > 0)!;
    const { code, stderr } = await cli("sync", `oci:${layout}:${multi.name}`, registry.host, "--prefix", "arm", "--platform", "linux/arm64");
    expect(code).toBe(0);
    const arm = multi.children.find((c) => c.descriptor.platform?.architecture === "arm64")!;
    expect(stderr).toContain(`the digest changes from ${multi.descriptor.digest} to ${arm.descriptor.digest}`);
    expect(await digestBySkopeo(`${registry.host}/arm/library/multi:2.0`)).toBe(arm.descriptor.digest);
  });

  test("from a docker-archive skopeo wrote: the image pulls back whole", async () => {
    const archive = join(dir, "app.tar");
    const name = release[1]!.name!;
    const made = await skopeo(["copy", "--quiet", `oci:${layout}:${name}`, `docker-archive:${archive}:acme/from-archive:7`]);
    expect(made.stderr).toBe("");
    const { code, stdout } = await cli("sync", `docker-archive:${archive}`, registry.host, "--json");
    expect(code).toBe(0);
    const done = stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.type === "image-done");
    expect(done).toMatchObject({ image: "docker.io/acme/from-archive:7", target: "acme/from-archive:7" });
    expect(await digestBySkopeo(`${registry.host}/acme/from-archive:7`)).toBe(done.digest);
    const back = await skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${registry.host}/acme/from-archive:7`, `oci:${join(dir, "pulled")}:x`]);
    expect(back.stderr).toBe("");
  });

  test("into store:, then served by stevedore serve", async () => {
    const root = join(dir, "store");
    const { code } = await cli("sync", `oci:${layout}`, `store:${root}`);
    expect(code).toBe(0);
    await using serve = await startServe({ root });
    expect(await tagsAt(serve.host, release.map((i) => i.name!))).toEqual(expected(release));
  });

  test("killed with SIGKILL mid-copy, a second run finishes and moves only the rest", async () => {
    const big = join(dir, "big");
    const items = await generateRelease({ images: 6, layerSize: 1024 * 1024, seed: "resume" });
    await writeOciLayout(big, items);
    const child = spawnCli(["sync", `oci:${big}`, registry.host, "--prefix", "resume", "--parallel", "1", "--json"]);
    // Kill at the second finished upload: some blobs are in, no image is complete.
    let pushed = 0;
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of child.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      pushed = buffer.split("\n").filter((l) => l.includes('"type":"blob-done"')).length;
      if (pushed >= 2) break;
    }
    child.kill("SIGKILL");
    expect(await child.exited).not.toBe(0);
    expect(pushed).toBeGreaterThanOrEqual(2);
    const again = await cli("sync", `oci:${big}`, registry.host, "--prefix", "resume", "--json");
    expect(again.code).toBe(0);
    const events = again.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const summary = events.at(-1);
    // An image whose last blob was among the first two may have been finished before the kill landed: then it is skipped.
    expect(summary.images).toMatchObject({ failed: 0, cancelled: 0 });
    expect(summary.images.synced + summary.images.skipped).toBe(items.length);
    expect(summary.images.synced).toBeGreaterThan(0);
    expect(summary.blobs.skipped).toBeGreaterThanOrEqual(2);
    const key = (e: { repository: string; digest: string }) => `${e.repository} ${e.digest}`;
    const before = buffer.split("\n").filter((l) => l.includes('"type":"blob-done"')).map((l) => key(JSON.parse(l)));
    const after = events.filter((e) => e.type === "blob-done" && e.action === "pushed").map(key);
    expect(after.filter((k) => before.includes(k))).toEqual([]);
    expect(await tagsAt(registry.host, items.map((i) => i.name!), "resume/")).toEqual(expected(items));
  });

  test("from the storage docker-registry wrote (registry-dir:) into a registry that wants a password", async () => {
    await using secured = await startDockerRegistry({ auth: { username: "ops", password: "s3cret" } });
    const denied = await cli("sync", `registry-dir:${registry.root}`, secured.host);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stderr).toMatch(/auth|denied|unauthorized/i);
    const { code, stderr } = await cli("sync", `registry-dir:${registry.root}:site/acme/app-0:1.0`, secured.host, "--creds", "ops:s3cret");
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const inspect = await skopeo(["inspect", "--raw", "--tls-verify=false", "--creds", "ops:s3cret", `docker://${secured.host}/site/acme/app-0:1.0`]);
    expect(digestOf(inspect.stdout)).toBe(release[0]!.descriptor.digest);
  });

  test("a bad source string is one line and exit 1", async () => {
    const { code, stderr, stdout } = await cli("sync", "nosuch:thing", registry.host);
    expect({ code, stdout, lines: stderr.trim().split("\n").length }).toEqual({ code: 1, stdout: "", lines: 1 });
    expect(stderr).toContain("nosuch");
  });
});

describe("stevedore push", () => {
  test("one image from a layout into a registry", async () => {
    const image = release[2]!;
    const { code, stderr } = await cli("push", `oci:${layout}:${image.name}`, `${registry.host}/pushed`);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const ref = parseNormalizedReference(image.name!);
    expect(await digestBySkopeo(`${registry.host}/pushed/${ref.path}:${ref.tag}`)).toBe(image.descriptor.digest);
  });
});
