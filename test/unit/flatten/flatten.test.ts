/** Flattening layers: whiteouts, opaque directories, overwrites, hard links, and bad layers. */
import { describe, expect, test } from "bun:test";
import { flattenImage, FlattenError } from "../../../src/flatten/index.ts";
import { generateIndex } from "../../helpers/images.ts";
import {
  dir,
  file,
  hardlink,
  homeWith,
  imageOf,
  layerOf,
  memorySink,
  opaque,
  type OutEntry,
  readEntries,
  type Spec,
  symlink,
  whiteout,
} from "./flatten-fixtures.ts";

async function flatten(layers: (Spec[] | Uint8Array<ArrayBuffer>)[], compression: "gzip" | "zstd" | "none" = "gzip"): Promise<OutEntry[]> {
  const image = await imageOf(await Promise.all(layers.map((l) => layerOf(l, compression))));
  const home = await homeWith({ manifest: image });
  const sink = memorySink();
  await flattenImage(home, "test/img", "1", sink.stream);
  return readEntries(sink.bytes());
}

/** name → short description, for whole-tree comparisons. */
function tree(entries: OutEntry[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((e) => [
      e.name,
      e.type === "file" ? `file ${e.data}` : e.type === "symlink" ? `-> ${e.linkname}` : e.type === "link" ? `link ${e.linkname}` : e.type,
    ]),
  );
}

describe("applying layers", () => {
  test("files, directories, symlinks keep modes, owners and times; parents come first", async () => {
    const entries = await flatten([
      [
        dir("etc", { mode: 0o755, mtime: 1_600_000_000 }),
        file("etc/passwd", "root:x:0:0", { mode: 0o644, uid: 0, gid: 0 }),
        file("etc/shadow", "secret", { mode: 0o640, gid: 42 }),
        dir("home/user", { mode: 0o700, uid: 1000, gid: 1000 }),
        file("usr/bin/tool", "#!/bin/sh", { mode: 0o4755, uid: 0 }),
        symlink("bin", "usr/bin"),
        dir("tmp", { mode: 0o1777 }),
      ],
    ]);
    expect(entries.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.gid])).toEqual([
      ["etc/", "directory", "755", 0, 0],
      ["etc/passwd", "file", "644", 0, 0],
      ["etc/shadow", "file", "640", 0, 42],
      ["home/", "directory", "755", 0, 0],
      ["home/user/", "directory", "700", 1000, 1000],
      ["usr/", "directory", "755", 0, 0],
      ["usr/bin/", "directory", "755", 0, 0],
      ["usr/bin/tool", "file", "4755", 0, 0],
      ["bin", "symlink", "777", 0, 0],
      ["tmp/", "directory", "1777", 0, 0],
    ]);
    expect(entries[0]!.mtime).toBe(1_600_000_000);
    expect(entries[1]!.mtime).toBe(1_700_000_000);
    expect(entries[8]!.linkname).toBe("usr/bin");
  });

  test("later layers overwrite; whiteouts delete files and whole directories", async () => {
    const entries = await flatten([
      [dir("a"), file("a/keep", "1"), file("a/gone", "1"), dir("b"), file("b/x", "1"), dir("b/sub"), file("b/sub/y", "1"), file("c", "old")],
      [file("c", "new"), whiteout("a/gone"), whiteout("b"), file("d", "new")],
    ]);
    expect(tree(entries)).toEqual({ "a/": "directory", "a/keep": "file 1", c: "file new", d: "file new" });
  });

  test("a whiteout applies only to lower layers, not to its own layer", async () => {
    const entries = await flatten([[file("x", "lower")], [whiteout("x"), file("x", "same layer")]]);
    expect(tree(entries)).toEqual({ x: "file same layer" });
  });

  test("an opaque directory hides what lower layers had in it, keeps its own layer's content", async () => {
    const entries = await flatten([
      [dir("d"), file("d/old", "1"), dir("d/olddir"), file("d/olddir/z", "1"), file("other", "1")],
      [dir("d", { mode: 0o750 }), opaque("d"), file("d/new", "2")],
      [file("d/newer", "3")],
    ]);
    expect(tree(entries)).toEqual({ "d/": "directory", "d/new": "file 2", "d/newer": "file 3", other: "file 1" });
    expect(entries.find((e) => e.name === "d/")!.mode).toBe(0o750);
  });

  test("a file replacing a directory hides its children; a directory replacing a file", async () => {
    const entries = await flatten([
      [dir("p"), file("p/child", "1"), file("q", "file")],
      [file("p", "now a file"), dir("q")],
      [file("q/inside", "2")],
    ]);
    expect(tree(entries)).toEqual({ p: "file now a file", "q/": "directory", "q/inside": "file 2" });
  });

  test("a deleted then re-created directory loses its old content", async () => {
    const entries = await flatten([[dir("d", { mode: 0o700 }), file("d/old", "1")], [whiteout("d")], [file("d/new", "2")]]);
    expect(tree(entries)).toEqual({ "d/": "directory", "d/new": "file 2" });
    expect(entries[0]!.mode).toBe(0o755); // implied, since the old entry is gone
  });

  test("within a layer, the last entry for a path wins", async () => {
    const entries = await flatten([[file("x", "first"), file("x", "second"), dir("y"), file("y", "file wins")]]);
    expect(tree(entries)).toEqual({ x: "file second", y: "file file wins" });
  });

  test("names are cleaned; absolute names are taken from the root, as docker applies them", async () => {
    const entries = await flatten([[dir("./"), file("./a/./b//c", "1"), file("/abs/file", "2"), file("x/../y", "3")]]);
    expect(tree(entries)).toEqual({ "a/": "directory", "a/b/": "directory", "a/b/c": "file 1", "abs/": "directory", "abs/file": "file 2", y: "file 3" });
  });

  test("uncompressed and zstd layers", async () => {
    for (const compression of ["none", "zstd"] as const) {
      const entries = await flatten([[file("a", "1")], [file("b", "2")]], compression);
      expect(tree(entries)).toEqual({ a: "file 1", b: "file 2" });
    }
  });

  test("pax records (xattrs) and long names pass through", async () => {
    const long = `${"deep/".repeat(40)}${"n".repeat(150)}`;
    const entries = await flatten([
      [file("ping", "elf", { pax: { "SCHILY.xattr.user.comment": "hello" } }), file(long, "far"), symlink("to-long", long)],
    ]);
    expect(entries.find((e) => e.name === "ping")!.pax).toEqual({ "SCHILY.xattr.user.comment": "hello" });
    expect(entries.find((e) => e.name === long)!.data).toBe("far");
    expect(entries.find((e) => e.name === "to-long")!.linkname).toBe(long);
  });

  test("devices and fifos pass through", async () => {
    const entries = await flatten([[dir("dev"), { name: "dev/null", type: "character-device", mode: 0o666 }, { name: "run.fifo", type: "fifo" }]]);
    expect(tree(entries)).toEqual({ "dev/": "directory", "dev/null": "character-device", "run.fifo": "fifo" });
  });
});

describe("hard links", () => {
  test("links within a layer and to a lower layer point at the surviving file", async () => {
    const entries = await flatten([[file("bin/busybox", "bb")], [hardlink("bin/sh", "bin/busybox"), file("t", "T"), hardlink("t2", "t")]]);
    expect(tree(entries)).toEqual({ "bin/": "directory", "bin/busybox": "file bb", "bin/sh": "link bin/busybox", t: "file T", t2: "link t" });
  });

  test("a link keeps the content its target had when it was made, after the target is overwritten", async () => {
    const entries = await flatten([[file("orig", "v1"), hardlink("l1", "orig"), hardlink("l2", "orig")], [file("orig", "v2")]]);
    expect(tree(entries)).toEqual({ l1: "file v1", l2: "link l1", orig: "file v2" });
  });

  test("a link survives its target's whiteout; a chain of links resolves to the content", async () => {
    const entries = await flatten([[file("a", "A")], [hardlink("b", "a")], [hardlink("c", "b"), whiteout("a")], [whiteout("b")]]);
    expect(tree(entries)).toEqual({ c: "file A" });
  });

  test("a link whose target does not exist is an error", async () => {
    await expect(flatten([[hardlink("l", "missing")]])).rejects.toThrow('hardlink "l" points to "missing", which does not exist');
    await expect(flatten([[file("a", "A")], [whiteout("a")], [hardlink("l", "a")]])).rejects.toThrow("which does not exist");
    await expect(flatten([[dir("d"), hardlink("l", "d")]])).rejects.toThrow("points to directory");
  });
});

describe("choosing the image", () => {
  test("an index resolves to the requested platform, and says what it offers otherwise", async () => {
    const amd = await imageOf([await layerOf([file("arch", "amd64")])], { platform: { os: "linux", architecture: "amd64" } });
    const arm = await imageOf([await layerOf([file("arch", "arm64")])], { platform: { os: "linux", architecture: "arm64", variant: "v8" } });
    const home = await homeWith({ manifest: generateIndex("docker.io/test/img:1", [amd, arm]) });
    for (const [platform, want] of [
      [{ os: "linux", architecture: "arm64" }, "arm64"],
      [{ os: "linux", architecture: "amd64" }, "amd64"],
    ] as const) {
      const sink = memorySink();
      const result = await flattenImage(home, "test/img", "1", sink.stream, { platform });
      expect(tree(await readEntries(sink.bytes()))).toEqual({ arch: `file ${want}` });
      expect(result.image.platform?.architecture).toBe(want);
    }
    const sink = memorySink();
    await expect(flattenImage(home, "test/img", "1", sink.stream, { platform: { os: "linux", architecture: "s390x" } })).rejects.toThrow(
      "has no image for linux/s390x; it offers linux/amd64, linux/arm64/v8",
    );
  });

  test("a single image of another platform is refused only when asked to be strict", async () => {
    const home = await homeWith({ manifest: await imageOf([await layerOf([file("a")])], { platform: { os: "linux", architecture: "arm64" } }) });
    const options = { platform: { os: "linux", architecture: "amd64" } };
    await flattenImage(home, "test/img", "1", memorySink().stream, options);
    await expect(flattenImage(home, "test/img", "1", memorySink().stream, { ...options, strictPlatform: true })).rejects.toThrow(
      "is an image for linux/arm64, not linux/amd64",
    );
  });
});

describe("bad layers", () => {
  test("a name climbing out of the root is refused", async () => {
    const error = await flatten([[file("ok", "1")], [file("../../etc/passwd", "x")]]).catch((e) => e);
    expect(error).toBeInstanceOf(FlattenError);
    expect(error.message).toMatch(/^layer 2 of 2 \(sha256:[0-9a-f]{64}\): entry "\.\.\/\.\.\/etc\/passwd" points outside the root filesystem$/);
    await expect(flatten([[file("a/../../x", "1")]])).rejects.toThrow("points outside the root filesystem");
    await expect(flatten([[file("t", "1"), hardlink("l", "../t")]])).rejects.toThrow("points outside the root filesystem");
  });

  test("an entry under a symlink from a lower layer is refused, not written through it", async () => {
    await expect(flatten([[symlink("lib", "usr/lib")], [file("lib/x.so", "1")]])).rejects.toThrow(
      '"lib/x.so" lies under "lib", which is not a directory in the flattened image',
    );
  });

  test("a corrupted gzip stream, a truncated tar, a digest mismatch", async () => {
    const good = await layerOf([file("a", "x".repeat(100_000))]);
    const corrupt = { ...good, bytes: good.bytes.slice() };
    corrupt.bytes[Math.floor(corrupt.bytes.length / 2)]! ^= 0xff;
    const home = await homeWith({ manifest: await imageOf([good]) });
    // Serve corrupted bytes under the good digest: the digest check catches it.
    home.blobs.set(good.descriptor.digest, corrupt.bytes);
    await expect(flattenImage(home, "test/img", "1", memorySink().stream)).rejects.toThrow(/layer 1 of 1 .*(digest|gzip|unexpected|invalid)/i);

    // A layer whose digest matches its (corrupt) bytes: the decompressor catches it.
    const truncated = new Uint8Array(good.bytes.subarray(0, good.bytes.length - 200));
    const bad = await layerOf(truncated, "none");
    const badGzip = { ...bad, descriptor: { ...bad.descriptor, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" } };
    const home2 = await homeWith({ manifest: await imageOf([badGzip]) });
    await expect(flattenImage(home2, "test/img", "1", memorySink().stream)).rejects.toThrow(/layer 1 of 1 \(sha256:[0-9a-f]+\): .+/);

    const tar = (await layerOf([file("a", "x".repeat(10_000))], "none")).bytes;
    await expect(flatten([tar.slice(0, 3000)], "none")).rejects.toThrow("truncated tar");
  });

  test("a layer that is not a tar", async () => {
    await expect(flatten([new TextEncoder().encode("x".repeat(1024))], "none")).rejects.toThrow(/layer 1 of 1 .*: invalid tar header at byte 0/);
  });
});
