/**
 * `stevedore export` against umoci (a peer, Debian's umoci): the same image
 * unpacked by `umoci unpack` and flattened by us gives the same tree —
 * paths, types, modes, contents, symlink targets, hard link groups, times;
 * owners too when running as root (umoci applies them only then).
 */
import { afterAll, expect, test } from "bun:test";
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeOciLayout } from "../../helpers/images.ts";
import { dir, file, hardlink, imageOf, layerOf, opaque, type OutEntry, readEntries, symlink, whiteout } from "../../unit/flatten/flatten-fixtures.ts";
import { runCli } from "../../unit/cli/run.ts";

const work = await mkdtemp(join(tmpdir(), "flatten-umoci-"));
afterAll(() => rm(work, { recursive: true, force: true }));

interface Node {
  type: "file" | "directory" | "symlink" | "other";
  mode: string;
  owner?: string;
  mtime?: number;
  data?: string;
  target?: string;
  /** Every path sharing this file's inode, when more than one. */
  links?: string[];
}

async function buildLayout(): Promise<string> {
  const base = await layerOf([
    dir("etc", { mtime: 1_600_000_000 }),
    file("etc/passwd", "root:x:0:0\n"),
    file("etc/os-release", "v1\n"),
    dir("usr"),
    dir("usr/bin"),
    file("usr/bin/busybox", "bb-v1", { mode: 0o4755, mtime: 1_500_000_000 }),
    hardlink("usr/bin/sh", "usr/bin/busybox"),
    hardlink("usr/bin/ls", "usr/bin/busybox"),
    symlink("bin", "usr/bin"),
    symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
    dir("var"),
    dir("var/lib"),
    dir("var/lib/app", { mode: 0o750, uid: 1000, gid: 1000 }),
    file("var/lib/app/data", "secret", { mode: 0o600, uid: 1000, gid: 1000 }),
    dir("opt"),
    dir("opt/old"),
    file("opt/old/a", "a"),
    dir("opt/old/nested"),
    file("opt/old/nested/b", "b"),
    dir("tmp", { mode: 0o1777 }),
    file("tmp/scratch", "s"),
    dir("cache"),
    file("cache/x", "x"),
    dir("cache/sub"),
    file("cache/sub/y", "y"),
    dir("will-be-link"),
    file("will-be-link/inner", "i"),
    symlink("will-be-dir", "elsewhere"),
    file("exec.sh", "#!/bin/sh\n", { mode: 0o755, uid: 33, gid: 33 }),
    file(`${"long-directory-name/".repeat(6)}${"f".repeat(120)}`, "long"),
  ]);
  const middle = await layerOf(
    [
      whiteout("tmp/scratch"),
      opaque("cache"),
      file("cache/z", "z"),
      file("etc/os-release", "v2\n"),
      whiteout("opt/old"),
      hardlink("etc/passwd-link", "etc/passwd"),
      dir("var/lib/app", { mode: 0o700, uid: 1000, gid: 1000 }),
      file("usr/bin/busybox", "bb-v2", { mode: 0o755 }),
      symlink("will-be-link", "opt"),
      dir("will-be-dir", { mode: 0o711 }),
      file("will-be-dir/now", "dir"),
    ],
    "none",
  );
  const top = await layerOf([
    file("opt/old/c", "c"),
    file("etc/localtime", "UTC0\n"),
    file("deep/implied/dir/file", "d"),
    whiteout("usr/bin/ls"),
    file("cache/z", "z2", { mode: 0o640 }),
  ]);
  const layout = join(work, "layout");
  // ref.name as a bare tag: umoci addresses images as DIR:TAG.
  await writeOciLayout(layout, [await imageOf([base, middle, top])], { refName: "tag" });
  return layout;
}

/** The unpacked tree, from the filesystem. */
async function fromDisk(root: string, withOwners: boolean): Promise<Record<string, Node>> {
  const tree: Record<string, Node> = {};
  const inodes = new Map<number, string[]>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, path));
      const node: Node = {
        type: st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other",
        mode: (st.mode & 0o7777).toString(8),
      };
      if (withOwners) node.owner = `${st.uid}:${st.gid}`;
      if (node.type === "file") {
        node.data = await readFile(join(root, path), "utf8");
        node.mtime = Math.floor(st.mtimeMs / 1000);
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), path]);
      }
      if (node.type === "symlink") {
        node.target = await readlink(join(root, path));
        delete (node as Partial<Node>).mode; // symlink modes mean nothing on Linux
      }
      tree[path] = node;
      if (node.type === "directory") await walk(path);
    }
  };
  await walk("");
  for (const paths of inodes.values()) for (const p of paths) tree[p]!.links = [...paths].sort();
  return tree;
}

/** The same shape from our tar's entries. */
function fromTar(entries: OutEntry[], withOwners: boolean): Record<string, Node> {
  const tree: Record<string, Node> = {};
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    const path = e.name.replace(/\/$/, "");
    if (e.type === "link") {
      const target = tree[e.linkname!]!;
      tree[path] = { ...target };
      groups.set(e.linkname!, [...(groups.get(e.linkname!) ?? [e.linkname!]), path]);
      continue;
    }
    const node: Node = {
      type: e.type === "file" || e.type === "directory" || e.type === "symlink" ? e.type : "other",
      mode: (e.mode & 0o7777).toString(8),
    };
    if (withOwners) node.owner = `${e.uid}:${e.gid}`;
    if (e.type === "file") {
      node.data = e.data;
      node.mtime = Math.floor(e.mtime);
    }
    if (e.type === "symlink") {
      node.target = e.linkname;
      delete (node as Partial<Node>).mode;
    }
    tree[path] = node;
  }
  for (const paths of groups.values()) for (const p of paths) tree[p]!.links = [...paths].sort();
  return Object.fromEntries(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function umoci(args: string[]): Promise<void> {
  const proc = Bun.spawn(["umoci", ...args], { stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`umoci ${args.join(" ")} exited ${code}: ${stderr}`);
}

test("export gives the tree umoci unpacks", async () => {
  const layout = await buildLayout();
  const out = join(work, "rootfs.tar");
  const { code, stderr } = await runCli(["export", `oci:${layout}:1`, "-o", out]);
  expect({ code, stderr: stderr.replace(/sha256:[0-9a-f]+/, "D") }).toEqual({
    code: 0,
    stderr: `oci:${layout}:1@D linux/amd64: 3 layers -> ${out}: 35 entries, 12 files, 0.0 MiB\n`,
  });
  const ours = await readEntries(new Uint8Array(await Bun.file(out).arrayBuffer()));

  await umoci(["unpack", "--rootless", "--image", `${layout}:1`, join(work, "rootless")]);
  const theirs = await fromDisk(join(work, "rootless", "rootfs"), false);
  expect(fromTar(ours, false)).toEqual(theirs);
  expect(Object.keys(theirs).length).toBe(35);
  // Spot checks of what the comparison covers.
  expect(theirs["usr/bin/sh"]).toEqual({ type: "file", mode: "4755", data: "bb-v1", mtime: 1_500_000_000 });
  expect(theirs["etc/passwd"]!.links).toEqual(["etc/passwd", "etc/passwd-link"]);
  expect(theirs["cache/sub"]).toBeUndefined();

  if (process.getuid?.() === 0) {
    // As root, umoci applies owners too.
    await umoci(["unpack", "--image", `${layout}:1`, join(work, "root")]);
    expect(fromTar(ours, true)).toEqual(await fromDisk(join(work, "root", "rootfs"), true));
  }
});
