/** Origins from image lists, OCI layouts and bundle tars. */
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOrigins, RewriteError } from "../../../src/rewrite/index.ts";
import { buildTar, generateImage, writeOciLayout } from "../../helpers/images.ts";

const dir = await mkdtemp(join(tmpdir(), "origins-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

test("an image list: comments, blank lines, written forms", async () => {
  const file = join(dir, "images.txt");
  await writeFile(file, "# release 7.1\n\nnginx:1.25   # web\nquay.io/x/y@sha256:" + "a".repeat(64) + "\r\n");
  const origins = await readOrigins(file);
  expect(origins.size).toBe(2);
  expect(origins.lookup("library/nginx", "s/library/nginx").written).toBe("nginx");
  expect(origins.lookup("x/y", "s/x/y").ref.domain).toBe("quay.io");
});

test("an OCI layout directory and a bundle tar: full ref.name annotations", async () => {
  const images = [
    await generateImage({ name: "quay.io/acme/a:1", seed: "a" }),
    await generateImage({ name: "docker.io/library/nginx:1.25", seed: "n" }),
  ];
  const layout = join(dir, "layout");
  await writeOciLayout(layout, images);
  const fromDir = await readOrigins(layout);
  expect(fromDir.lookup("acme/a", "x").ref.toString()).toBe("quay.io/acme/a:1");

  // A bundle: the layout in a tar, index.json last and blobs before it.
  const bundle = join(dir, "bundle.tar");
  const index = await Bun.file(join(layout, "index.json")).bytes();
  const big = new Uint8Array(100_000);
  const longName = `blobs/sha256/${"d".repeat(120)}`;
  await Bun.write(
    bundle,
    await buildTar([
      { name: "oci-layout", data: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') },
      { name: "blobs/", type: "directory" },
      { name: longName, data: big },
      { name: "./index.json", data: index },
    ]),
  );
  const fromTar = await readOrigins(bundle);
  expect(fromTar.lookup("library/nginx", "x").written).toBe("docker.io/library/nginx");
});

test("a layout whose names are bare tags cannot say where images came from", async () => {
  const layout = join(dir, "tags-only");
  await writeOciLayout(layout, [await generateImage({ name: "docker.io/acme/a:1", seed: "t" })], { refName: "tag" });
  await expect(readOrigins(layout)).rejects.toThrow("names no image by its full reference");
});

test("missing files, directories that are not layouts, broken JSON, tars that are not bundles", async () => {
  await expect(readOrigins(join(dir, "nope"))).rejects.toThrow(RewriteError);
  const empty = join(dir, "empty");
  await Bun.write(join(empty, "x"), "");
  await expect(readOrigins(empty)).rejects.toThrow("not an OCI image layout");
  const broken = join(dir, "broken");
  await Bun.write(join(broken, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await Bun.write(join(broken, "index.json"), "{");
  await expect(readOrigins(broken)).rejects.toThrow("index.json is not valid JSON");
  // A tar that is not a layout is not read as a list either.
  const tar = join(dir, "other.tar");
  await Bun.write(tar, await buildTar([{ name: "hello.txt", data: new TextEncoder().encode("hi") }]));
  await expect(readOrigins(tar)).rejects.toThrow(RewriteError);
});
