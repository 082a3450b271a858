/**
 * `stevedore sync SRC docker://HOST/REPO --scan --tag-prefix P` into a real
 * `stevedore serve`: a generated release lands in one repository, one tag
 * per image named after its origin, each resolving to the source digest.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { generateImage, generateRelease, writeOciLayout } from "../../helpers/images.ts";
import { startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const dir = mkdtempSync(join(tmpdir(), "sync-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

test("a release synced with --scan: one repository, <prefix>_<path>_<tag> tags, source digests", async () => {
  const release = await generateRelease({ seed: "scan", layerSize: 4096, registry: "quay.io" });
  const long = await generateImage({ name: `docker.io/acme/${"long-name-".repeat(12)}tool:1.0`, seed: "scan-long" });
  const layout = join(dir, "release");
  await writeOciLayout(layout, [...release, long]);
  await using serve = await startServe();

  const result = await cli("sync", `oci:${layout}`, `docker://${serve.host}/scans/release`, "--scan", "--tag-prefix", "7.1.0");
  expect([result.code, result.stderr]).toEqual([0, expect.any(String)]);

  const list = (await (await fetch(`${serve.url}/v2/scans/release/tags/list`)).json()) as { name: string; tags: string[] };
  const named = [...release, long].filter((m) => m.name !== undefined);
  const expected = named.map((m) => {
    const ref = parseNormalizedReference(m.name!);
    const tag = `7.1.0_${ref.path.replaceAll("/", "_")}_${ref.tag}`;
    return tag.length <= 128 ? tag : undefined;
  });
  const longTag = list.tags.find((t) => t.length === 128)!;
  expect(longTag).toMatch(/^7\.1\.0_acme_long-name-.*-[0-9a-f]{10}$/);
  expect(list).toEqual({ name: "scans/release", tags: [...expected.filter((t) => t !== undefined), longTag].sort() });
  expect(list.tags).toContain("7.1.0_acme_app-0_1.0");
  expect(list.tags).toContain("7.1.0_library_multi_2.0");
  // Nothing else was created: the catalog has the one repository.
  expect(await (await fetch(`${serve.url}/v2/_catalog`)).json()).toEqual({ repositories: ["scans/release"] });
  // Each tag resolves to its source image's digest.
  for (const m of named) {
    const ref = parseNormalizedReference(m.name!);
    const full = `7.1.0_${ref.path.replaceAll("/", "_")}_${ref.tag}`;
    const tag = full.length <= 128 ? full : longTag;
    const res = await fetch(`${serve.url}/v2/scans/release/manifests/${tag}`, { method: "HEAD", headers: { Accept: m.descriptor.mediaType } });
    expect([tag, res.headers.get("docker-content-digest")]).toEqual([tag, m.descriptor.digest]);
  }
  // A second run moves nothing new and keeps the same tags.
  const again = await cli("sync", `oci:${layout}`, `${serve.host}/scans/release`, "--scan", "--tag-prefix", "7.1.0", "--json");
  expect(again.code).toBe(0);
  expect(((await (await fetch(`${serve.url}/v2/scans/release/tags/list`)).json()) as { tags: string[] }).tags).toEqual(list.tags);
});

test.each<[string, string[], number, RegExp]>([
  ["--tag-prefix without --scan", ["--tag-prefix", "7.1.0"], 2, /--tag-prefix goes with --scan/],
  ["--scan into a layout", ["--scan"], 1, /--scan needs DEST to name the scan repository/],
])("refused: %s", async (_, flags, code, message) => {
  const layout = join(dir, "small");
  await writeOciLayout(layout, [await generateImage({ name: "docker.io/acme/small:1", seed: "small" })]);
  const result = await cli("sync", `oci:${layout}`, `oci:${join(dir, "out")}`, ...flags);
  expect(result.code).toBe(code);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
});
