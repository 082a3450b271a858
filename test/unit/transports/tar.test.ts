/** The tar index reads what real tar tools write, and refuses hostile or broken archives. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { TarError } from "../../../src/transports/tar/tar-error.ts";
import { encodePax, parsePax } from "../../../src/transports/tar/tar-header.ts";
import { TarIndex } from "../../../src/transports/tar/tar-index.ts";
import { TarWriter } from "../../../src/transports/tar/tar-writer.ts";
import { buildTar, randomBytes } from "../../helpers/images.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stevedore-tar-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(cmd: string[], cwd = dir): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed: ${err}`);
  return out;
}

async function indexError(bytes: Uint8Array, name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  try {
    await TarIndex.open(path);
  } catch (error) {
    expect(error).toBeInstanceOf(TarError);
    return (error as Error).message;
  }
  throw new Error("expected the archive to be refused");
}

describe("reading", () => {
  test("GNU tar archives in gnu, pax and ustar formats, with long names and links", async () => {
    const src = join(dir, "src");
    const long = `${"deep/".repeat(30)}${"n".repeat(120)}.bin`;
    await mkdir(join(src, long, ".."), { recursive: true });
    const data = randomBytes("tar/long", 70_000);
    await writeFile(join(src, long), data);
    await writeFile(join(src, "small.txt"), "hello");
    await run(["ln", "-s", "small.txt", join(src, "link")]);
    await run(["ln", join(src, "small.txt"), join(src, "hard")]);
    for (const format of ["gnu", "pax", "ustar"]) {
      const file = join(dir, `real-${format}.tar`);
      const names = format === "ustar" ? ["small.txt", "link", "hard"] : ["small.txt", "link", "hard", "deep"];
      await run(["tar", `--format=${format}`, "-cf", file, "-C", src, ...names]);
      const index = await TarIndex.open(file);
      expect(await index.file("small.txt")!.text()).toBe("hello");
      expect(await index.file("./link")!.text()).toBe("hello");
      expect(await index.file("hard")!.text()).toBe("hello");
      if (format !== "ustar") {
        const blob = index.file(long)!;
        expect(blob.size).toBe(data.byteLength);
        expect(digestOf(new Uint8Array(await blob.arrayBuffer()))).toBe(digestOf(data));
      }
      expect(index.file("deep")).toBeUndefined(); // a directory is not a file
      expect(index.file("missing")).toBeUndefined();
    }
  });

  test("an archive without end blocks still reads (some writers omit them)", async () => {
    const tar = await buildTar([{ name: "a", data: new TextEncoder().encode("x") }]);
    const path = join(dir, "no-end.tar");
    await writeFile(path, tar.subarray(0, 1024));
    expect(await (await TarIndex.open(path)).file("a")!.text()).toBe("x");
  });

  test("pax records round-trip, including multi-digit lengths", () => {
    const records: [string, string][] = [
      ["path", "x".repeat(5)],
      ["path", "y".repeat(95)],
      ["size", "123456789012"],
      ["linkpath", "é".repeat(300)],
    ];
    for (const r of records) expect([...parsePax(encodePax([r]))]).toEqual([r]);
  });
});

describe("writing", () => {
  test("entries read back, GNU tar agrees, and the bytes are reproducible", async () => {
    const big = randomBytes("tar/big", 300_001);
    const longName = `blobs/${"a".repeat(90)}/${"b".repeat(150)}`;
    const write = async (path: string) => {
      const w = await TarWriter.create(path);
      await w.file("oci-layout", 5, new TextEncoder().encode("hello"));
      await w.directory("blobs");
      await w.file("blobs/big", big.byteLength, new Blob([big]));
      await w.file(longName, 3, new Blob([new TextEncoder().encode("abc")]).stream());
      await w.file("empty", 0, new Uint8Array());
      await w.finish();
    };
    const a = join(dir, "w-a.tar");
    const b = join(dir, "w-b.tar");
    await write(a);
    await write(b);
    expect(digestOf(await Bun.file(a).bytes())).toBe(digestOf(await Bun.file(b).bytes()));
    const index = await TarIndex.open(a);
    expect(digestOf(new Uint8Array(await index.file("blobs/big")!.arrayBuffer()))).toBe(digestOf(big));
    expect(await index.file(longName)!.text()).toBe("abc");
    expect(index.file("empty")!.size).toBe(0);
    const listing = await run(["tar", "-tvf", a]);
    expect(listing).toContain(longName);
    expect(listing).toMatch(/-rw-r--r-- 0\/0 +300001 1970-01-01 00:00 blobs\/big/);
    const out = join(dir, "w-extract");
    await mkdir(out);
    await run(["tar", "-xf", a, "-C", out]);
    expect(digestOf(await Bun.file(join(out, "blobs/big")).bytes())).toBe(digestOf(big));
  });

  test("a body that does not match its declared size fails the archive, and nothing is left", async () => {
    const path = join(dir, "w-bad.tar");
    const w = await TarWriter.create(path);
    await expect(w.file("x", 10, new Uint8Array(5))).rejects.toThrow(/5 bytes, 10 declared/);
    await w.abort();
    expect(await Bun.file(path).exists()).toBe(false);
    expect(await Bun.file(w.temp).exists()).toBe(false);
  });
});

describe("hostile and broken archives", () => {
  const data = new TextEncoder().encode("payload");

  test("a name climbing out with ..", async () => {
    const message = await indexError(await buildTar([{ name: "blobs/../../etc/passwd", data }]), "dotdot.tar");
    expect(message).toContain('climbs out of the archive with ".."');
  });

  test("an absolute name", async () => {
    const message = await indexError(await buildTar([{ name: "/etc/passwd", data }]), "absolute.tar");
    expect(message).toContain("has an absolute path");
  });

  test("symlinks pointing out of the archive, relative or absolute", async () => {
    const out = await buildTar([{ name: "blobs/sha256/x", type: "symlink", linkname: "../../../etc/passwd" }]);
    expect(await indexError(out, "symlink-out.tar")).toContain("symlink pointing out of the archive");
    const abs = await buildTar([{ name: "layer.tar", type: "symlink", linkname: "/etc/passwd" }]);
    expect(await indexError(abs, "symlink-abs.tar")).toContain("symlink to the absolute path");
  });

  test("symlink loops and links to directories resolve to nothing", async () => {
    const tar = await buildTar([
      { name: "a", type: "symlink", linkname: "b" },
      { name: "b", type: "symlink", linkname: "a" },
      { name: "d", type: "directory" },
      { name: "to-dir", type: "symlink", linkname: "d" },
    ]);
    const path = join(dir, "loop.tar");
    await writeFile(path, tar);
    const index = await TarIndex.open(path);
    expect(index.file("a")).toBeUndefined();
    expect(index.file("to-dir")).toBeUndefined();
  });

  test("a truncated archive: data cut short, or a header cut short", async () => {
    const tar = await buildTar([{ name: "big", data: randomBytes("t", 5000) }]);
    expect(await indexError(tar.subarray(0, 2048), "cut-data.tar")).toContain("truncated tar");
    expect(await indexError(tar.subarray(0, 300), "cut-header.tar")).toContain("not a tar archive");
    expect(await indexError(tar.subarray(0, 1024 + 300), "cut-second-header.tar")).toContain("truncated tar");
    const path = join(dir, "cut-file.tar");
    await writeFile(path, tar);
    await truncate(path, 512 + 4000);
    await expect(TarIndex.open(path)).rejects.toThrow(/truncated tar/);
  });

  test("not a tar at all, or a corrupt header", async () => {
    expect(await indexError(randomBytes("junk", 4096), "junk.tar")).toContain("not a tar archive");
    const tar = await buildTar([
      { name: "a", data },
      { name: "b", data },
    ]);
    tar[1024 + 10] = 0x41; // the second header
    expect(await indexError(tar, "corrupt.tar")).toContain("checksum mismatch: not a tar archive, or corrupt (header at byte 1024)");
  });

  test("an oversized pax record and a size larger than the file", async () => {
    const bigPax = await buildTar([{ name: "PaxHeaders/x", data: new Uint8Array(2 * 1024 * 1024) }]);
    bigPax[156] = "x".charCodeAt(0); // retype the first entry as a pax header
    fixChecksum(bigPax);
    expect(await indexError(bigPax, "bigpax.tar")).toContain("refusing");
    const huge = await buildTar([{ name: "a", data }]);
    huge.set(new TextEncoder().encode("77777777777\0"), 124);
    fixChecksum(huge);
    expect(await indexError(huge, "huge.tar")).toContain("truncated tar");
  });

  test("too many entries", async () => {
    const tar = await buildTar(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data })));
    const path = join(dir, "many.tar");
    await writeFile(path, tar);
    await expect(TarIndex.open(path, { maxEntries: 10 })).rejects.toThrow(/more than 10 tar entries/);
  });
});

function fixChecksum(tar: Uint8Array): void {
  tar.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[i]!;
  tar.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
}
