/** `stevedore export` from a real registry (CNCF distribution): layers streamed over HTTP, same tar as from memory. */
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flattenImage } from "../../../src/flatten/index.ts";
import { openRegistry } from "../../../src/transports/remote/index.ts";
import { startDockerRegistry } from "../../helpers/docker-registry.ts";
import { generateIndex } from "../../helpers/images.ts";
import { runCli } from "../../unit/cli/run.ts";
import { dir, file, hardlink, homeWith, imageOf, layerOf, memorySink, opaque, whiteout } from "../../unit/flatten/flatten-fixtures.ts";

const work = await mkdtemp(join(tmpdir(), "export-registry-"));
afterAll(() => rm(work, { recursive: true, force: true }));

test("export from a registry, picking the platform from an index", async () => {
  await using registry = await startDockerRegistry();
  const layers = await Promise.all([
    layerOf([dir("etc"), file("etc/a", "1"), file("etc/b", "2"), dir("var/cache"), file("var/cache/x", "x")]),
    layerOf([whiteout("etc/a"), opaque("var/cache"), hardlink("etc/c", "etc/b"), file("big", "z".repeat(3_000_000))]),
  ]);
  const amd = await imageOf(layers, { platform: { os: "linux", architecture: "amd64" } });
  const arm = await imageOf([await layerOf([file("arm", "1")])], { platform: { os: "linux", architecture: "arm64", variant: "v8" } });
  const index = generateIndex("docker.io/test/img:1", [amd, arm]);
  const memory = await homeWith({ manifest: index });

  const home = openRegistry(registry.host);
  try {
    for (const m of [amd, arm]) {
      for (const b of m.blobs) await home.putBlob("test/img", { digest: b.descriptor.digest, size: b.descriptor.size }, new Blob([b.bytes]));
      await home.putManifest("test/img", m.descriptor.digest, { bytes: m.bytes, mediaType: m.descriptor.mediaType });
    }
    await home.putManifest("test/img", "1", { bytes: index.bytes, mediaType: index.descriptor.mediaType });
  } finally {
    await home.close();
  }

  const expected = memorySink();
  await flattenImage(memory, "test/img", "1", expected.stream, { platform: { os: "linux", architecture: "amd64" } });
  const out = join(work, "rootfs.tar");
  const { code, stderr } = await runCli(["export", `docker://${registry.host}/test/img:1`, "-o", out, "--platform", "linux/amd64"]);
  expect({ code, stderr }).toEqual({
    code: 0,
    stderr: `docker://${registry.host}/test/img:1@${amd.descriptor.digest} linux/amd64: 2 layers -> ${out}: 6 entries, 2 files, 2.9 MiB\n`,
  });
  expect(Buffer.compare(Buffer.from(await Bun.file(out).arrayBuffer()), Buffer.from(expected.bytes()))).toBe(0);
});
