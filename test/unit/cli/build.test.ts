/**
 * The single executable: scripts/build.ts compiles it, and it runs with no
 * Bun on the PATH. Built in a temporary directory (build.ts writes
 * dist/stevedore under the directory it runs in and reads ./src from there).
 */
import { expect, test } from "bun:test";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { jsonLines, stevedore } from "./run.ts";

const ROOT = resolve(import.meta.dir, "../../..");

test("build, then --version and ref --json from the binary", async () => {
  const dir = await mkdtemp(join(tmpdir(), "stevedore-build-"));
  try {
    await symlink(join(ROOT, "src"), join(dir, "src"));
    const build = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(build.stderr).text(), build.exited]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });

    const binary = [join(dir, "dist/stevedore")];
    const env = { PATH: "/usr/bin:/bin" };
    const { version } = (await Bun.file(join(ROOT, "package.json")).json()) as { version: string };
    const shown = await stevedore(["--version"], binary, env);
    expect([shown.code, shown.stderr]).toEqual([0, ""]);
    expect(shown.stdout).toMatch(new RegExp(`^stevedore ${version.replaceAll(".", "\\.")}(\\+[0-9a-f]+)?\\n$`));

    const ref = await stevedore(["ref", "--json", "busybox:1.36", "Bad"], binary, env);
    expect([ref.code, ref.stderr]).toEqual([1, ""]);
    expect(jsonLines(ref.stdout)).toEqual([
      { input: "busybox:1.36", name: "docker.io/library/busybox", domain: "docker.io", path: "library/busybox", tag: "1.36", familiar: "busybox:1.36" },
      { input: "Bad", error: "repository name must be lowercase" },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);
