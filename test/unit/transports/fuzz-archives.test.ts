/**
 * Fuzzing the archive readers with mutated archives (seeded; FUZZ_SEED
 * replays): oci-archive and docker-archive (legacy, symlink and docker 25+
 * shapes) built from generated images, then damaged: random bytes
 * flipped, header fields rewritten with a valid checksum (so the damage
 * gets past the first check: sizes, types, hostile names, links), blocks
 * dropped or repeated, the file cut short or grown. Opening, listing,
 * resolving and reading every manifest and blob must end in a typed error
 * (TransportError, OciError, a digest error) or in content, never in a
 * crash or a hang, and no entry name the index keeps leaves the archive.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ContentMismatchError, DigestError } from "../../../src/digest/index.ts";
import { type ImageReader, manifestReferences, OciError, parseManifest } from "../../../src/oci/index.ts";
import { DockerArchiveHome } from "../../../src/transports/docker-archive/docker-archive-home.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { OciArchiveReader } from "../../../src/transports/oci-archive/oci-archive-reader.ts";
import { TarIndex } from "../../../src/transports/tar/tar-index.ts";
import { dockerArchiveBytes } from "../../helpers/docker-archive.ts";
import { buildTar, generateImage, generateLayer, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { fuzzSeed, seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";

const SEED = fuzzSeed();
let dir: string;
let images: GeneratedManifest[];
let dockerImages: GeneratedManifest[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stevedore-fuzz-archives-"));
  const base = await generateLayer({ seed: "fuzz/base", size: 1500 });
  images = [
    await generateImage({ name: "docker.io/acme/app:1.0", seed: "fuzz/app", baseLayers: [base], layerSize: 800 }),
    await generateImage({ name: "docker.io/acme/web:2", seed: "fuzz/web", layers: 1, layerSize: 600, compression: "none" }),
  ];
  const dockerBase = await generateLayer({ seed: "fuzz/dbase", size: 1500, format: "docker" });
  dockerImages = [
    await generateImage({ name: "docker.io/acme/app:1.0", seed: "fuzz/dapp", format: "docker", baseLayers: [dockerBase], layerSize: 800 }),
    await generateImage({ name: "localhost:5000/plain/tar:v1", seed: "fuzz/dplain", format: "docker", compression: "none", layers: 2, layerSize: 500 }),
  ];
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An oci-archive's bytes: the layout the generator writes, as a tar. */
async function ociArchiveBytes(): Promise<Uint8Array> {
  const layout = join(dir, "layout");
  await writeOciLayout(layout, images);
  const entries: Parameters<typeof buildTar>[0] = [];
  for (const entry of await readdir(layout, { recursive: true, withFileTypes: true })) {
    const path = relative(layout, join(entry.parentPath, entry.name));
    entries.push(entry.isDirectory() ? { name: `${path}/`, type: "directory" } : { name: path, data: await readFile(join(layout, path)) });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  return buildTar(entries);
}

const isTyped = (error: unknown) =>
  error instanceof TransportError || error instanceof OciError || error instanceof DigestError || error instanceof ContentMismatchError;

function fixChecksum(tar: Uint8Array, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += tar[i]!;
  tar.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), at + 148);
}

const HOSTILE_NAMES = ["../escape", "/etc/passwd", "a/../../b", "blobs/sha256/../../../x", "a\0b", "./", "", "x".repeat(100), "blobs/sha256/" + "f".repeat(64), "manifest.json", "index.json", "oci-layout", "repositories"];
const SIZES = ["00000000000\0", "77777777777\0", "00000001000\0", "        \0\0\0\0", "-1\0", "99999999999\0", "0000000001x\0"];
const TYPES = ["0", "1", "2", "3", "5", "7", "x", "g", "L", "K", "S", "\0", "Z"];

/** One mutation of a valid archive, described for the failure message. */
function mutate(rng: SeededRandom, bytes: Uint8Array, headers: number[]): { bytes: Uint8Array; what: string } {
  const out = new Uint8Array(bytes);
  const header = headers.length ? rng.pick(headers) : 0;
  const encode = (text: string) => new TextEncoder().encode(text);
  switch (rng.int(9)) {
    case 0: {
      const n = rng.between(1, 8);
      for (let i = 0; i < n; i++) out[rng.int(out.length)] = rng.int(256);
      return { bytes: out, what: `${n} random bytes` };
    }
    case 1: {
      const name = rng.pick(HOSTILE_NAMES);
      out.fill(0, header, header + 100);
      out.set(encode(name).subarray(0, 100), header);
      fixChecksum(out, header);
      return { bytes: out, what: `name ${JSON.stringify(name)} at ${header}` };
    }
    case 2: {
      const size = rng.pick(SIZES);
      out.set(encode(size), header + 124);
      if (rng.int(3) === 0) out[header + 124] = 0x80 | rng.int(128); // base-256
      fixChecksum(out, header);
      return { bytes: out, what: `size ${JSON.stringify(size)} at ${header}` };
    }
    case 3: {
      const type = rng.pick(TYPES);
      out[header + 156] = type.charCodeAt(0);
      if (type === "1" || type === "2") {
        const link = rng.pick(HOSTILE_NAMES);
        out.fill(0, header + 157, header + 257);
        out.set(encode(link).subarray(0, 100), header + 157);
      }
      fixChecksum(out, header);
      return { bytes: out, what: `type ${JSON.stringify(type)} at ${header}` };
    }
    case 4:
      return { bytes: out.subarray(0, rng.int(out.length)), what: "cut short" };
    case 5: {
      const at = rng.int(out.length / 512) * 512;
      const n = rng.between(1, 4) * 512;
      return { bytes: new Uint8Array([...out.subarray(0, at), ...out.subarray(at + n)]), what: `${n} bytes dropped at ${at}` };
    }
    case 6: {
      const at = rng.int(out.length / 512) * 512;
      const block = out.subarray(header, header + 512);
      return { bytes: new Uint8Array([...out.subarray(0, at), ...block, ...out.subarray(at)]), what: `header ${header} repeated at ${at}` };
    }
    case 7:
      return { bytes: new Uint8Array([...out, ...rng.bytes(rng.between(1, 2048))]), what: "garbage appended" };
    default: {
      // A header's data replaced with random bytes of the same length (a corrupt document or blob).
      const start = header + 512;
      const end = Math.min(out.length, start + rng.between(1, 600));
      out.set(rng.bytes(end - start), start);
      return { bytes: out, what: `data after header ${header} randomised` };
    }
  }
}

/** Everything a sync would read; typed errors are fine, anything else is a finding. */
async function exercise(home: ImageReader): Promise<number> {
  let read = 0;
  const attempt = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      if (!isTyped(error)) throw error;
      return undefined;
    }
  };
  const repositories = (await attempt(() => home.repositories())) ?? [];
  for (const repository of repositories) {
    for (const tag of (await attempt(() => home.tags(repository))) ?? []) {
      const manifest = await attempt(() => home.manifest(repository, tag));
      if (!manifest) continue;
      const refs = await attempt(async () => manifestReferences(parseManifest(manifest.bytes, manifest.mediaType)));
      for (const d of [...(refs?.blobs ?? []), ...(refs?.manifests ?? [])]) {
        const content = await attempt(() => home.blob(repository, d.digest));
        if (!content) continue;
        await attempt(async () => {
          for await (const chunk of content.stream()) read += chunk.byteLength;
        });
      }
    }
  }
  return read;
}

async function fuzzArchive(name: string, valid: Uint8Array, open: (path: string) => Promise<ImageReader>, seed: number): Promise<{ runs: number; opened: number }> {
  const path = join(dir, `${name}.tar`);
  await writeFile(path, valid);
  const headers = [...(await TarIndex.open(path)).entries.values()].map((e) => e.offset - 512).filter((o) => o >= 0);
  const rng = seededRandom(seed);
  const deadline = performance.now() + 700;
  let runs = 0;
  let opened = 0;
  for (; runs < 150 || performance.now() < deadline; runs++) {
    const { bytes, what } = mutate(rng, valid, headers);
    await writeFile(path, bytes);
    const where = `${name} #${runs}: ${what} (FUZZ_SEED=${SEED})`;
    const started = performance.now();
    try {
      const index = await TarIndex.open(path).catch((error) => {
        if (!isTyped(error)) throw error;
        return undefined;
      });
      for (const entry of index?.entries.values() ?? []) {
        const escapes = entry.name.startsWith("/") || entry.name.split("/").includes("..") || entry.name.includes("\0");
        expect({ where, name: entry.name, escapes }).toEqual({ where, name: entry.name, escapes: false });
      }
      let home: ImageReader;
      try {
        home = await open(path);
      } catch (error) {
        if (!isTyped(error)) throw error;
        continue;
      }
      opened++;
      await exercise(home);
    } catch (error) {
      throw new Error(`${where}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    const ms = performance.now() - started;
    expect({ where, slow: ms > 2_000 }).toEqual({ where, slow: false });
  }
  if (process.env.FUZZ_VERBOSE) console.log(`${name}: ${runs} mutated archives, ${opened} opened and read through`);
  return { runs, opened };
}

describe("mutated archives: typed errors or content, never a crash or a hang", () => {
  test("oci-archive", async () => {
    const { runs, opened } = await fuzzArchive("oci", await ociArchiveBytes(), (p) => OciArchiveReader.open(p), SEED);
    expect(runs).toBeGreaterThanOrEqual(150);
    expect(opened).toBeGreaterThan(0);
  });

  for (const style of ["legacy", "symlink", "oci"] as const) {
    test(`docker-archive (${style})`, async () => {
      const valid = await dockerArchiveBytes(dockerImages, { style });
      const { runs, opened } = await fuzzArchive(`docker-${style}`, valid, (p) => DockerArchiveHome.open(p), SEED + style.length);
      expect(runs).toBeGreaterThanOrEqual(150);
      expect(opened).toBeGreaterThan(0);
    });
  }
});
