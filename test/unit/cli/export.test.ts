/** `stevedore export`: sources, the output file, and failures that leave nothing behind. */
import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTar, writeOciLayout } from "../../helpers/images.ts";
import { dir, file, imageOf, layerOf, readEntries } from "../flatten/flatten-fixtures.ts";
import { runCli } from "./run.ts";

const work = await mkdtemp(join(tmpdir(), "export-cli-"));
afterAll(() => rm(work, { recursive: true, force: true }));

const cli = (...argv: string[]) => runCli(argv);

const good = await imageOf([await layerOf([dir("app"), file("app/run", "v1")]), await layerOf([file("app/run", "v2")])], {
  name: "docker.io/acme/app:1.0",
});
const layout = join(work, "layout");
await writeOciLayout(layout, [good]);

async function names(tar: string): Promise<string[]> {
  return (await readEntries(new Uint8Array(await Bun.file(tar).arrayBuffer()))).map((e) => `${e.name}${e.data ? `=${e.data}` : ""}`);
}

test("an OCI layout, with and without REF", async () => {
  const out = join(work, "a.tar");
  const result = await cli("export", `oci:${layout}`, "-o", out);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain("2 layers");
  expect(await names(out)).toEqual(["app/", "app/run=v2"]);
  expect((await cli("export", `oci:${layout}:docker.io/acme/app:1.0`, "-o", out)).code).toBe(0);
  expect(await cli("export", `oci:${layout}:docker.io/acme/app:2.0`, "-o", out)).toEqual({
    code: 1,
    stdout: "",
    stderr: `stevedore: oci:${layout}: no image named "docker.io/acme/app:2.0"; it has docker.io/acme/app:1.0\n`,
  });
  const two = join(work, "two");
  await writeOciLayout(two, [good, await imageOf([await layerOf([file("x")])], { name: "docker.io/acme/other:2" })]);
  const many = await cli("export", `oci:${two}`, "-o", out);
  expect(many.code).toBe(2);
  expect(many.stderr).toContain("holds 2 images (docker.io/acme/app:1.0, docker.io/acme/other:2); name one");
});

test("a bundle (oci-archive)", async () => {
  const bundle = join(work, "bundle.tar");
  const entries: Parameters<typeof buildTar>[0] = [];
  const walk = async (rel: string) => {
    for (const entry of await readdir(join(layout, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        entries.push({ name: `${path}/`, type: "directory" });
        await walk(path);
      } else entries.push({ name: path, data: await Bun.file(join(layout, path)).bytes() });
    }
  };
  await walk("");
  await Bun.write(bundle, await buildTar(entries));
  const out = join(work, "b.tar");
  expect((await cli("export", `oci-archive:${bundle}:docker.io/acme/app:1.0`, "-o", out)).code).toBe(0);
  expect(await names(out)).toEqual(["app/", "app/run=v2"]);
});

test("a failure leaves no output and keeps an existing file", async () => {
  const escaping = await imageOf([await layerOf([file("../../etc/passwd", "x")])], { name: "docker.io/acme/bad:1" });
  const bad = join(work, "bad");
  await writeOciLayout(bad, [escaping]);
  const out = join(work, "out");
  await mkdir(out);
  const target = join(out, "rootfs.tar");
  const missing = await cli("export", `oci:${bad}`, "-o", target);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^stevedore: oci:.*: layer 1 of 1 \(sha256:[0-9a-f]+\): entry "\.\.\/\.\.\/etc\/passwd" points outside the root filesystem\n$/);
  expect(await readdir(out)).toEqual([]);

  await writeFile(target, "previous");
  expect((await cli("export", `oci:${bad}`, "-o", target)).code).toBe(1);
  expect(await readdir(out)).toEqual(["rootfs.tar"]);
  expect(await Bun.file(target).text()).toBe("previous");

  // A corrupt gzip stream whose bytes still match the digest the manifest names.
  const plain = await layerOf([file("big", "y".repeat(200_000))], "gzip");
  const cut = await layerOf(new Uint8Array(plain.bytes.subarray(0, plain.bytes.length / 2)), "none");
  const corrupt = await imageOf([{ ...cut, descriptor: { ...cut.descriptor, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" } }], {
    name: "docker.io/acme/corrupt:1",
  });
  const corruptDir = join(work, "corrupt");
  await writeOciLayout(corruptDir, [corrupt]);
  const result = await cli("export", `oci:${corruptDir}`, "-o", target);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/layer 1 of 1 \(sha256:[0-9a-f]+\): the gzip stream is corrupt/);
  expect(await readdir(out)).toEqual(["rootfs.tar"]);
  expect(await Bun.file(target).text()).toBe("previous");
});

test("usage errors", async () => {
  expect((await cli("export", `oci:${layout}`)).code).toBe(2);
  expect((await cli("export", "-o", "x.tar")).code).toBe(2);
  expect((await cli("export", "store2:/x", "-o", "x.tar")).code).toBe(2);
  expect((await cli("export", `oci:${layout}`, "-o", "x.tar", "--platform", "linux")).code).toBe(2);
  const missing = await cli("export", `oci:${join(work, "nope")}`, "-o", join(work, "x.tar"));
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("no such directory");
});
