/** The docker:// home against a real CNCF registry: write through the image interface, read back with skopeo, and the reverse. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { digestOf } from "../../../src/digest/index.ts";
import { manifestReferences, OciError, parseManifest } from "../../../src/oci/index.ts";
import { openRegistry, type RegistryHome } from "../../../src/transports/remote/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { allBlobs, generateLayer, generateMultiArch, generateImage, type GeneratedManifest } from "../../helpers/images.ts";
import { pushImages, skopeo } from "../../helpers/skopeo.ts";

let registry: DockerRegistry;
let home: RegistryHome;
beforeAll(async () => {
  registry = await startDockerRegistry();
  home = openRegistry(registry.host, { certDirs: [], env: {} });
});
afterAll(async () => {
  await home?.close();
  await registry?.stop();
});

async function push(target: RegistryHome, repository: string, tag: string, item: GeneratedManifest) {
  for (const blob of allBlobs([item])) {
    if ((await target.statBlob(repository, blob.descriptor.digest)) === undefined) {
      await target.putBlob(repository, blob.descriptor, new Blob([blob.bytes]));
    }
  }
  for (const child of item.children) await target.putManifest(repository, child.descriptor.digest, { bytes: child.bytes, mediaType: child.descriptor.mediaType });
  return target.putManifest(repository, tag, { bytes: item.bytes, mediaType: item.descriptor.mediaType });
}

test("a multi-arch image pushed through the home is what skopeo reads", async () => {
  const multi = await generateMultiArch("m", { seed: "home-it" });
  const digest = await push(home, "acme/multi", "3.0", multi);
  expect(digest).toBe(multi.descriptor.digest);
  const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/acme/multi:3.0`]);
  expect(raw.stdout).toBe(new TextDecoder().decode(multi.bytes));
  const arm = await skopeo(["inspect", "--tls-verify=false", "--override-arch", "arm64", `docker://${registry.host}/acme/multi:3.0`]);
  expect(JSON.parse(arm.stdout).Architecture).toBe("arm64");
  expect(await home.hasManifest("acme/multi", multi.children[0]!.descriptor.digest)).toBe(true);
});

test("reads what skopeo pushed; mounts a shared layer into another repository", async () => {
  const base = await generateLayer({ seed: "home-it-base", size: 10_000 });
  const image = await generateImage({ name: "a", seed: "home-it-a", baseLayers: [base] });
  await pushImages(registry.host, [{ image, repository: "acme/a", tag: "1" }]);
  expect(await home.repositories()).toContain("acme/a");
  expect(await home.tags("acme/a")).toEqual(["1"]);
  const descriptor = await home.resolve("acme/a", "1");
  expect(descriptor.digest).toBe(image.descriptor.digest);
  const manifest = await home.manifest("acme/a", "1");
  const refs = manifestReferences(parseManifest(manifest.bytes, manifest.mediaType));
  for (const blob of refs.blobs) {
    const content = await home.blob("acme/a", blob.digest);
    const bytes = new Uint8Array(await new Response(content.stream()).arrayBuffer());
    expect([content.size, digestOf(bytes)]).toEqual([blob.size, blob.digest]);
  }
  expect(await home.mountBlob("acme/b", "acme/a", base.descriptor.digest)).toBe(true);
  expect(await home.statBlob("acme/b", base.descriptor.digest)).toBe(base.descriptor.size);
  // Mount of something the source lacks: false, and the session it opened serves the upload.
  const fresh = await generateLayer({ seed: "home-it-fresh", size: 5000 });
  expect(await home.mountBlob("acme/b", "acme/a", fresh.descriptor.digest)).toBe(false);
  await home.putBlob("acme/b", fresh.descriptor, new Blob([fresh.bytes]).stream());
  expect(await home.statBlob("acme/b", fresh.descriptor.digest)).toBe(fresh.descriptor.size);
});

test("a blob whose bytes do not match never becomes visible", async () => {
  const layer = await generateLayer({ seed: "home-it-bad", size: 1000 });
  const error = await home.putBlob("acme/bad", layer.descriptor, new Blob([new Uint8Array(layer.bytes.byteLength)])).catch((e) => e);
  expect(error.code).toBe("DIGEST_INVALID");
  expect(await home.statBlob("acme/bad", layer.descriptor.digest)).toBeUndefined();
});

test("right bytes streamed under a wrong declared size: SIZE_INVALID, never visible", async () => {
  const layer = await generateLayer({ seed: "home-it-size", size: 200_000 });
  for (const size of [layer.descriptor.size - 1, layer.descriptor.size + 1]) {
    const error = await home.putBlob("acme/size", { ...layer.descriptor, size }, new Blob([layer.bytes]).stream()).catch((e) => e);
    expect([error instanceof OciError, error.code]).toEqual([true, "SIZE_INVALID"]);
    expect(await home.statBlob("acme/size", layer.descriptor.digest)).toBeUndefined();
  }
  // The cut-off parts stay in distribution's _uploads until it purges them (it refuses the DELETE), but nothing shows.
  expect(await home.repositories()).not.toContain("acme/size");
  expect((await home.tags("acme/size").catch((e) => e)).code).toBe("NAME_UNKNOWN");
});

test("an invalid repository name fails at once with NAME_INVALID", async () => {
  const started = performance.now();
  for (const name of ["localhost:5000/x", "Acme/app"]) {
    const error = await home.putBlob(name, { digest: digestOf("x"), size: 1 }, new Blob(["x"])).catch((e) => e);
    expect([error instanceof OciError, error.code]).toEqual([true, "NAME_INVALID"]);
    expect((await home.tags(name).catch((e) => e)).code).toBe("NAME_INVALID");
  }
  // No request is made, so no retry loop can spin (distribution answers 500 to the first name).
  expect(performance.now() - started).toBeLessThan(500);
});
