/** `stevedore fsck` as a user runs it: a sound store, problems and exit codes, --repair, a bundle. */
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { blobPath, Store } from "../../../src/store/index.ts";
import { pushTree } from "../../helpers/home-contract.ts";
import { generateImage, writeOciLayout } from "../../helpers/images.ts";
import { blob, streamOf, tempDir } from "../store/fixtures.ts";
import { runCli } from "./run.ts";

const cli = (...argv: string[]) => runCli(argv);

test("a sound store: exit 0 and one summary line; damage: exit 1, each problem with what to do; --repair fixes what is safe", async () => {
  await using dir = await tempDir();
  const root = join(dir.path, "store");
  const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "fsck" });
  const stray = blob("stray");
  const store = await Store.open({ root });
  await pushTree(store, "acme/app", image, "1.0");
  await store.putBlob("acme/app", { digest: stray.digest }, streamOf(stray.bytes));
  await store.close();

  const sound = await cli("fsck", "--root", root);
  expect(sound).toEqual({
    code: 0,
    stdout: expect.stringMatching(/^fsck: 4 blobs \(.*\) hashed, 1 manifest, 1 tag, 0 uploads, 4 files checked: no problems\n$/),
    stderr: "",
  });

  const layer = image.blobs.find((b) => b.descriptor.mediaType.includes("layer"))!.descriptor;
  await writeFile(blobPath(root, layer.digest), "x".repeat(layer.size));
  await writeFile(blobPath(root, stray.digest), "y".repeat(stray.size));
  const damaged = await cli("fsck", "--root", root);
  expect(damaged.code).toBe(1);
  const problems = damaged.stdout.split("\n").filter((l) => l.startsWith("PROBLEM"));
  expect(problems).toHaveLength(2);
  expect(problems).toEqual(expect.arrayContaining([
    expect.stringMatching(new RegExp(`^PROBLEM blob-corrupt: blob ${layer.digest}: its bytes hash to sha256:[0-9a-f]+; used by acme/app@sha256:[0-9a-f]+: the images using it are broken`)),
    expect.stringMatching(new RegExp(`^PROBLEM blob-corrupt: blob ${stray.digest}: .*; no manifest uses it: run fsck --repair to forget it$`)),
  ]));
  expect(damaged.stderr).toBe("stevedore: 2 problems in the store\n");

  const repaired = await cli("fsck", "--root", root, "--repair", "--json");
  expect(repaired.code).toBe(1);
  const report = JSON.parse(repaired.stdout);
  expect(report.repaired).toBe(1);
  expect(report.problems.map((p: { kind: string; repaired: boolean }) => [p.kind, p.repaired]).sort()).toEqual([
    ["blob-corrupt", false],
    ["blob-corrupt", true],
  ]);
  expect(repaired.stderr).toBe("stevedore: 1 problem in the store that --repair cannot fix\n");
});

test("a bundle is verified as bundle verify does; bad usage and a missing store are clear errors", async () => {
  await using dir = await tempDir();
  const layout = join(dir.path, "bundle");
  await writeOciLayout(layout, [await generateImage({ name: "docker.io/acme/app:1.0", seed: "bundle" })]);
  const ok = await cli("fsck", layout);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toStartWith(`ok: ${layout}: `);
  expect((await cli("fsck", layout, "--repair")).stderr).toMatch(/fsck: a BUNDLE is checked as it is/);
  expect((await cli("fsck", "a", "b")).code).toBe(2);
  expect((await cli("fsck", "--root", root(dir.path), "--parallel", "0")).code).toBe(2);
  const missing = await cli("fsck", "--root", root(dir.path));
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/fsck: no store at/);
});

const root = (dir: string) => join(dir, "no-store-here");
