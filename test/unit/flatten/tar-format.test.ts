/** Our tar reader and writer: what layers use, in the forms GNU tar and others write. */
import { afterAll, expect, test } from "bun:test";
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flattenImage, readTar, type TarHeader, TarWriter } from "../../../src/flatten/index.ts";
import { homeWith, imageOf, layerOf, memorySink } from "./flatten-fixtures.ts";

const work = await mkdtemp(join(tmpdir(), "tar-format-"));
afterAll(() => rm(work, { recursive: true, force: true }));

const header = (name: string, extra: Partial<TarHeader> = {}): TarHeader => ({
  name,
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 1_700_000_000,
  linkname: "",
  uname: "",
  gname: "",
  devmajor: 0,
  devminor: 0,
  pax: [],
  ...extra,
});

async function write(entries: { header: TarHeader; data?: Uint8Array }[]): Promise<Uint8Array<ArrayBuffer>> {
  const sink = memorySink();
  const writer = new TarWriter(sink.stream);
  for (const e of entries) {
    const data = e.data;
    await writer.add(e.header, data ? (async function* () { yield data; })() : undefined);
  }
  await writer.finish();
  return new Uint8Array(sink.bytes());
}

async function read(bytes: Uint8Array) {
  const out: { header: TarHeader; data: string }[] = [];
  for await (const { header, body } of readTar(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream())) {
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c.slice());
    out.push({ header, data: Buffer.concat(chunks).toString("utf8") });
  }
  return out;
}

test("round trip: long names and link names, big ids, fractional times, binary xattrs", async () => {
  const capability = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x80]);
  const long = `${"d".repeat(150)}/${"e".repeat(150)}/file`;
  const entries = [
    { header: header("bin/ping", { size: 3, pax: [["SCHILY.xattr.security.capability", capability] as [string, Uint8Array]] }), data: new TextEncoder().encode("elf") },
    { header: header(long, { size: 1, uid: 70_000_000, gid: 3_000_000 }), data: new TextEncoder().encode("x") },
    { header: header("sym", { type: "symlink", linkname: long, mode: 0o777 }) },
    { header: header("ünïcödé/ファイル", { size: 0, mtime: 1_700_000_000.25 }) },
    { header: header("dev/null", { type: "char", devmajor: 1, devminor: 3, mode: 0o666 }) },
  ];
  const back = await read(await write(entries));
  expect(back.map((e) => e.header)).toEqual(entries.map((e) => e.header));
  expect(back.map((e) => e.data)).toEqual(["elf", "x", "", "", ""]);
});

test("GNU tar's own archives (long names as L entries, hard links) flatten", async () => {
  const src = join(work, "gnu");
  const deep = `${"long-name-".repeat(12)}/file`;
  await mkdir(join(src, "long-name-".repeat(12)), { recursive: true });
  await writeFile(join(src, deep), "deep");
  await writeFile(join(src, "a"), "A");
  await link(join(src, "a"), join(src, "b"));
  await symlink("a", join(src, "c"));
  const tarFile = join(work, "gnu.tar");
  const proc = Bun.spawn(["tar", "--format=gnu", "-C", src, "-cf", tarFile, "a", "b", "c", "long-name-".repeat(12)], { stderr: "pipe" });
  expect(await proc.exited).toBe(0);
  const layer = await layerOf(new Uint8Array(await Bun.file(tarFile).arrayBuffer()), "gzip");
  const home = await homeWith({ manifest: await imageOf([layer]) });
  const sink = memorySink();
  await flattenImage(home, "test/img", "1", sink.stream);
  const out = await read(sink.bytes());
  expect(out.map((e) => [e.header.name, e.header.type, e.header.linkname, e.data])).toEqual([
    ["a", "file", "", "A"],
    ["b", "link", "a", ""],
    ["c", "symlink", "a", ""],
    [`${"long-name-".repeat(12)}/`, "directory", "", ""],
    [deep, "file", "", "deep"],
  ]);
});

test("a binary xattr survives a flatten byte for byte", async () => {
  const capability = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x00, 0x80]);
  const tar = await write([{ header: header("ping", { size: 1, pax: [["SCHILY.xattr.security.capability", capability]] }), data: new Uint8Array([7]) }]);
  const home = await homeWith({ manifest: await imageOf([await layerOf(tar, "zstd")]) });
  const sink = memorySink();
  await flattenImage(home, "test/img", "1", sink.stream);
  const [ping] = await read(sink.bytes());
  expect(ping!.header.pax).toEqual([["SCHILY.xattr.security.capability", capability]]);
});

test("corrupt headers and sparse files are refused", async () => {
  const tar = await write([{ header: header("a", { size: 1 }), data: new Uint8Array([1]) }]);
  const broken = tar.slice();
  broken[10]! ^= 0x55;
  await expect(read(broken)).rejects.toThrow("invalid tar header at byte 0");
  const sparse = await write([{ header: header("s", { pax: [["GNU.sparse.size", new TextEncoder().encode("100")]] }) }]);
  await expect(read(sparse)).rejects.toThrow("sparse files are not supported");
});
