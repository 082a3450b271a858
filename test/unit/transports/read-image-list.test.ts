/** readImageList: lists and bundles read alike, for `gc --keep` and `rewrite --images`. */
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Annotation } from "../../../src/oci/index.ts";
import { ImageListError, readImageList, TransportError } from "../../../src/transports/index.ts";
import { generateImage, writeOciLayout } from "../../helpers/images.ts";
import { tempDir } from "../store/fixtures.ts";

const summary = (listing: Awaited<ReturnType<typeof readImageList>>) => ({
  bundle: listing.bundle,
  images: listing.images.map((i) => ({ name: i.name.toString(), written: i.written, origin: i.origin })),
  unnamed: listing.unnamed,
});

test("text and YAML lists: normalised names, the form written, file and line", async () => {
  await using dir = await tempDir();
  const text = join(dir.path, "images.txt");
  await writeFile(text, "# release\ndocker://nginx:1.25\nquay.io/x/y # the y\n");
  expect(summary(await readImageList(text))).toEqual({
    bundle: false,
    images: [
      { name: "docker.io/library/nginx:1.25", written: "nginx:1.25", origin: `${text}:2` },
      { name: "quay.io/x/y:latest", written: "quay.io/x/y", origin: `${text}:3` },
    ],
    unnamed: [],
  });
  const yaml = join(dir.path, "images.yaml");
  await writeFile(yaml, "images:\n  - nginx:1.25\n  - image: acme/app:2\n    platforms: linux/arm64\n");
  expect(summary(await readImageList(yaml)).images).toEqual([
    { name: "docker.io/library/nginx:1.25", written: "nginx:1.25", origin: `${yaml}:2` },
    { name: "docker.io/acme/app:2", written: "acme/app:2", origin: `${yaml}:3` },
  ]);
});

test("a bundle: full names pinned to their manifests; bare tags listed as unnamed; referrers skipped", async () => {
  await using dir = await tempDir();
  const app = await generateImage({ name: "docker.io/acme/app:1", seed: "app" });
  const layout = join(dir.path, "layout");
  await writeOciLayout(layout, [app]);
  expect(summary(await readImageList(layout))).toEqual({
    bundle: true,
    images: [{ name: `docker.io/acme/app:1@${app.descriptor.digest}`, written: "docker.io/acme/app:1", origin: `${layout}: index.json manifests[0]` }],
    unnamed: [],
  });
  const tags = join(dir.path, "tags");
  await writeOciLayout(tags, [app], { refName: "tag" });
  expect(summary(await readImageList(tags))).toEqual({
    bundle: true,
    images: [],
    unnamed: [{ origin: `${tags}: index.json manifests[0]`, refName: "1" }],
  });
  const unlabelled = join(dir.path, "unlabelled");
  await writeOciLayout(unlabelled, [app], { refName: "none" });
  expect(summary(await readImageList(unlabelled))).toEqual({ bundle: true, images: [], unnamed: [] });
});

test("a bundle entry with a malformed full name is an error naming the entry", async () => {
  await using dir = await tempDir();
  const layout = join(dir.path, "layout");
  await writeOciLayout(layout, [await generateImage({ name: "docker.io/acme/app:1", seed: "app" })]);
  const index = await Bun.file(join(layout, "index.json")).json();
  index.manifests[0].annotations = { [Annotation.refName]: "acme/App:1" };
  await writeFile(join(layout, "index.json"), JSON.stringify(index));
  const error = await readImageList(layout).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ImageListError);
  expect((error as Error).message).toMatch(/: index\.json manifests\[0\]: repository name must be lowercase/);
});

test("a missing file is named in the caller's words", async () => {
  await using dir = await tempDir();
  const error = await readImageList(join(dir.path, "absent.txt"), "keep list").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TransportError);
  expect(error).toMatchObject({ kind: "not-found", message: `Cannot read keep list "${join(dir.path, "absent.txt")}": no such file` });
});
