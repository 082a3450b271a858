/**
 * A damaged bundle, as an operator meets it on site: a flipped byte in a
 * layer or in a manifest, a tar cut short, a blob missing, a broken
 * index.json. `bundle verify` and `sync` each say what is wrong in words
 * that name the bundle file and the blob (or index.json), exit 1, and
 * the destination gets no tag for an image whose content failed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Digest, encodedOf } from "../../../src/digest/index.ts";
import { createBundle, imagesFromArguments } from "../../../src/bundle/index.ts";
import { Store } from "../../../src/store/index.ts";
import { OciLayoutHome, TarIndex } from "../../../src/transports/index.ts";
import { type GeneratedManifest, generateImage, generateLayer, writeOciLayout } from "../../helpers/images.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
let work: string;
let bundle: string;
let images: GeneratedManifest[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-bundle-corruption-"));
  const base = await generateLayer({ seed: "corruption-base", size: 40_000 });
  images = [
    await generateImage({ name: "docker.io/acme/web:1", seed: "corruption-web", baseLayers: [base], layerSize: 30_000 }),
    await generateImage({ name: "docker.io/acme/api:1", seed: "corruption-api", baseLayers: [base], layerSize: 30_000 }),
  ];
  const upstream = join(work, "upstream");
  await writeOciLayout(upstream, images);
  bundle = join(work, "release.tar");
  await createBundle({
    images: imagesFromArguments(images.map((i) => i.name!)),
    output: bundle,
    format: "archive",
    from: await OciLayoutHome.open(upstream),
  });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

let copies = 0;
async function damagedCopy(damage: (path: string, tar: TarIndex) => Promise<void>): Promise<string> {
  const path = join(work, `damaged-${++copies}.tar`);
  await Bun.write(path, Bun.file(bundle));
  await damage(path, await TarIndex.open(path));
  return path;
}

async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const byte = new Uint8Array(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** Rewrite the tar through `edit` (entries by name → bytes, in order). */
async function rewrite(path: string, tar: TarIndex, edit: (entries: Map<string, Uint8Array>) => void): Promise<void> {
  const entries = new Map<string, Uint8Array>();
  for (const entry of tar.entries.values()) if (entry.type === "file") entries.set(entry.name, new Uint8Array(await tar.file(entry.name)!.arrayBuffer()));
  edit(entries);
  const { TarWriter } = await import("../../../src/transports/index.ts");
  const writer = await TarWriter.create(path);
  for (const [name, bytes] of entries) await writer.file(name, bytes.byteLength, bytes);
  await writer.finish();
}

const blobEntry = (digest: Digest) => `blobs/sha256/${encodedOf(digest)}`;

/** Sync the bundle into a new store: exit code, stderr, and the tags that landed. */
async function syncInto(path: string) {
  const root = join(work, `store-${copies}-${Math.random().toString(36).slice(2, 8)}`);
  const result = await cli("sync", path, `store:${root}`);
  const store = await Store.open({ root });
  try {
    const tags: string[] = [];
    for (const repository of await store.repositories()) for (const tag of await store.tags(repository)) tags.push(`${repository}:${tag}`);
    return { ...result, tags: tags.sort() };
  } finally {
    await store.close();
  }
}

describe("a damaged bundle is named, blob by blob", () => {
  test("the sound bundle verifies and syncs", async () => {
    expect((await cli("bundle", "verify", bundle)).code).toBe(0);
    const synced = await syncInto(bundle);
    expect({ code: synced.code, tags: synced.tags }).toEqual({ code: 0, tags: ["acme/api:1", "acme/web:1"] });
  });

  test("a flipped byte in a layer: verify names the file and the blob; sync fails that image only, no tag for it", async () => {
    const layer = images[0]!.blobs.at(-1)!.descriptor.digest;
    const path = await damagedCopy((p, tar) => flipByte(p, tar.resolve(blobEntry(layer))!.offset + 500));
    const verified = await cli("bundle", "verify", path);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`^${path}: ${blobEntry(layer)}: content hashes to sha256:[0-9a-f]{64}$`, "m"));
    const synced = await syncInto(`oci-archive:${path}`);
    expect(synced.code).toBe(1);
    expect(synced.stderr).toContain(layer);
    expect(synced.stderr).toContain(path);
    expect(synced.tags).not.toContain("acme/web:1");
  });

  test("a flipped byte in a manifest: the manifest is refused by its digest, naming it", async () => {
    const manifest = images[1]!.descriptor.digest;
    const path = await damagedCopy((p, tar) => flipByte(p, tar.resolve(blobEntry(manifest))!.offset + 20));
    const verified = await cli("bundle", "verify", path);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(blobEntry(manifest));
    const synced = await syncInto(`oci-archive:${path}`);
    expect(synced.code).toBe(1);
    expect(synced.stderr).toContain(manifest);
    expect(synced.tags).not.toContain("acme/api:1");
  });

  test("a blob missing: named, with the image that needs it", async () => {
    const layer = images[1]!.blobs.at(-1)!.descriptor.digest;
    const path = await damagedCopy((p, tar) => rewrite(p, tar, (entries) => entries.delete(blobEntry(layer))));
    const verified = await cli("bundle", "verify", path);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`${blobEntry(layer)}: missing`));
    const synced = await syncInto(`oci-archive:${path}`);
    expect(synced.code).toBe(1);
    expect(synced.stderr).toContain(`blob ${layer} is not in oci-archive:${path}`);
    expect(synced.tags).not.toContain("acme/api:1");
  });

  test("a tar cut short: both refuse the file, saying it is truncated", async () => {
    const path = await damagedCopy(async (p) => {
      const bytes = await Bun.file(p).bytes();
      await writeFile(p, bytes.subarray(0, Math.floor(bytes.byteLength * 0.7)));
    });
    for (const result of [await cli("bundle", "verify", path), await syncInto(`oci-archive:${path}`)]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`${path.replaceAll(".", "\\.")}: (not a bundle: )?truncated tar`));
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test.each([
    ["not JSON", "{\"manifests\": ["],
    ["not an index", "[]"],
    ["a manifest entry with a malformed digest", JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:../../etc/passwd", size: 1 }] })],
  ])("a broken index.json (%s): named, the file too", async (_name, text) => {
    const path = await damagedCopy((p, tar) => rewrite(p, tar, (entries) => entries.set("index.json", new TextEncoder().encode(text))));
    for (const result of [await cli("bundle", "verify", path), await syncInto(`oci-archive:${path}`)]) {
      expect(result.code).toBe(1);
      expect(`${result.stdout}${result.stderr}`).toContain(path);
      expect(`${result.stdout}${result.stderr}`).toContain("index.json");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
