/** oci-archive: reading in place, writing reproducibly, appending, and refusing broken archives. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf, encodedOf } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { OciArchiveReader } from "../../../src/transports/oci-archive/oci-archive-reader.ts";
import { OciArchiveWriter } from "../../../src/transports/oci-archive/oci-archive-writer.ts";
import { TarIndex } from "../../../src/transports/tar/tar-index.ts";
import { expectImage, pushTree } from "../../helpers/home-contract.ts";
import { allBlobs, allManifests, buildTar, generateImage, generateRelease, type GeneratedManifest } from "../../helpers/images.ts";

let root: string;
let release: GeneratedManifest[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-oci-archive-"));
  release = await generateRelease({ seed: "archive", images: 3, layerSize: 4000 });
});
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const fresh = () => join(root, `a${counter++}.tar`);

async function write(file: string, items: GeneratedManifest[], order: "forward" | "reverse" = "forward") {
  const writer = await OciArchiveWriter.open(file);
  const list = order === "forward" ? items : [...items].reverse();
  // In parallel: the archive must not depend on arrival order.
  await Promise.all(
    list.map(async (m) => {
      const [repository, tag] = splitName(m.name!);
      await pushTree(writer, repository, m, tag);
    }),
  );
  await writer.close();
}

function splitName(name: string): [string, string] {
  const colon = name.lastIndexOf(":");
  return [name.slice(0, colon), name.slice(colon + 1)];
}

/** A tar of an OCI layout, entry by entry, for broken variants. */
async function layoutTar(items: GeneratedManifest[], change: (entries: Parameters<typeof buildTar>[0]) => void = () => {}) {
  const entries: Parameters<typeof buildTar>[0] = [{ name: "oci-layout", data: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') }];
  const index = {
    schemaVersion: 2,
    manifests: items.map((m) => ({ ...m.descriptor, annotations: { "org.opencontainers.image.ref.name": m.name } })),
  };
  entries.push({ name: "index.json", data: new TextEncoder().encode(JSON.stringify(index)) });
  for (const b of [...allBlobs(items), ...allManifests(items).map((m) => ({ descriptor: m.descriptor, bytes: m.bytes }))]) {
    entries.push({ name: `blobs/sha256/${encodedOf(b.descriptor.digest)}`, data: b.bytes });
  }
  change(entries);
  const file = fresh();
  await writeFile(file, await buildTar(entries));
  return file;
}

describe("writing", () => {
  test("the same images give the same bytes, whatever order they arrive in; nothing is left beside the file", async () => {
    const a = fresh();
    const b = fresh();
    await write(a, release);
    await write(b, release, "reverse");
    expect(digestOf(await Bun.file(a).bytes())).toBe(digestOf(await Bun.file(b).bytes()));
    expect((await readdir(root)).filter((n) => n.includes(".tmp"))).toEqual([]);
    const names = [...(await TarIndex.open(a)).entries.keys()];
    expect(names.slice(0, 4)).toEqual(["oci-layout", "index.json", "blobs", "blobs/sha256"]);
    expect(names.slice(4)).toEqual([...names.slice(4)].sort());
  });

  test("writing into an existing archive keeps its images; a name written again is replaced", async () => {
    const file = fresh();
    const [first, second, third] = release;
    await write(file, [first!, second!]);
    const newer = await generateImage({ name: second!.name, seed: "archive/newer" });
    await write(file, [third!, newer]);
    const reader = await OciArchiveReader.open(file);
    await expectImage(reader, ...splitName(first!.name!), first!);
    await expectImage(reader, ...splitName(third!.name!), third!);
    await expectImage(reader, ...splitName(newer.name!), newer);
    expect((await reader.entries()).length).toBe(3);
  });

  test("discard leaves the file as it was", async () => {
    const file = fresh();
    await write(file, release.slice(0, 1));
    const before = digestOf(await Bun.file(file).bytes());
    const writer = await OciArchiveWriter.open(file);
    await pushTree(writer, "docker.io/acme/other", release[1]!, "9");
    await writer.discard();
    expect(digestOf(await Bun.file(file).bytes())).toBe(before);
    expect((await readdir(root)).filter((n) => n.includes(".tmp"))).toEqual([]);
  });
});

describe("reading", () => {
  test("blobs are slices of the archive, read in parallel", async () => {
    const file = fresh();
    await write(file, release);
    const reader = await OciArchiveReader.open(file);
    const blobs = allBlobs(release);
    const digests = await Promise.all(
      blobs.map(async (b) => {
        const content = await reader.blob("any", b.descriptor.digest);
        return digestOf(new Uint8Array(await new Response(content.stream()).arrayBuffer()));
      }),
    );
    expect(digests).toEqual(blobs.map((b) => b.descriptor.digest));
  });

  test("an archive made with tar from a layout directory (./ names)", async () => {
    const file = await layoutTar(release, (entries) => {
      for (const e of entries) e.name = `./${e.name}`;
    });
    const reader = await OciArchiveReader.open(file);
    for (const m of release) await expectImage(reader, ...splitName(m.name!), m);
  });
});

describe("broken archives", () => {
  async function refused(file: string, message: RegExp) {
    const error = await OciArchiveReader.open(file).catch((e) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error.message).toMatch(message);
  }

  test("a blob missing from the archive is BLOB_UNKNOWN; a missing manifest is MANIFEST_UNKNOWN", async () => {
    const image = release[0]!;
    const layer = image.blobs[1]!.descriptor.digest;
    const file = await layoutTar([image], (entries) => {
      entries.splice(entries.findIndex((e) => e.name.endsWith(encodedOf(layer))), 1);
    });
    const reader = await OciArchiveReader.open(file);
    const error = await reader.blob("docker.io/acme/app-0", layer).catch((e) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(error.code).toBe("BLOB_UNKNOWN");
    expect(error.message).toBe(`blob ${layer} is not in oci-archive:${file}`);
    const noManifest = await layoutTar([image], (entries) => {
      entries.splice(entries.findIndex((e) => e.name.endsWith(encodedOf(image.descriptor.digest))), 1);
    });
    const error2 = await (await OciArchiveReader.open(noManifest)).manifest(...splitName(image.name!)).catch((e) => e);
    expect(error2.code).toBe("MANIFEST_UNKNOWN");
  });

  test("bad index.json, no index.json, no oci-layout", async () => {
    await refused(await layoutTar(release.slice(0, 1), (e) => (e[1]!.data = new TextEncoder().encode("[]"))), /index.json is not an OCI image index/);
    await refused(await layoutTar(release.slice(0, 1), (e) => e.splice(1, 1)), /the archive has no index.json/);
    await refused(await layoutTar(release.slice(0, 1), (e) => e.splice(0, 1)), /not an OCI image layout archive \(no oci-layout entry\)/);
  });

  test("path tricks: an entry climbing out, a blob symlinked out of the archive", async () => {
    await refused(await layoutTar(release.slice(0, 1), (e) => e.push({ name: "blobs/../../../etc/x", data: new Uint8Array(1) })), /climbs out of the archive/);
    await refused(
      await layoutTar(release.slice(0, 1), (e) => e.push({ name: "blobs/sha256/evil", type: "symlink", linkname: "../../../../etc/passwd" })),
      /symlink pointing out of the archive/,
    );
  });

  test("a truncated archive names the file and where it ends", async () => {
    const file = fresh();
    await write(file, release.slice(0, 1));
    const bytes = await Bun.file(file).bytes();
    const cut = fresh();
    await writeFile(cut, bytes.subarray(0, bytes.byteLength - 3000));
    await refused(cut, new RegExp(`${cut.replaceAll(".", "\\.")}: truncated tar`));
  });

  test("a missing file and a directory", async () => {
    await refused(fresh(), /no such file/);
    await refused(root, /is a directory, not an archive/);
  });
});
