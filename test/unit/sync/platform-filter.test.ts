import { expect, test } from "bun:test";
import { digestOf } from "../../../src/digest/index.ts";
import { type ImageIndex, parseManifest, parsePlatform } from "../../../src/oci/index.ts";
import { choosePlatforms } from "../../../src/sync/platform-filter.ts";
import { generateImage } from "../../helpers/images.ts";

async function index(extra: Record<string, unknown> = {}) {
  const images = await Promise.all(
    ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"].map((p) => generateImage({ seed: p, platform: parsePlatform(p) })),
  );
  const amd = images[0]!.descriptor;
  const attestation = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: digestOf("attestation"),
    size: 10,
    platform: { os: "unknown", architecture: "unknown" },
    annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd.digest },
  };
  const json = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [...images.map((i) => ({ ...i.descriptor, "x-extra": "kept" })), attestation],
    annotations: { "org.example": "stays" },
    ...extra,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(json, null, 2));
  const content = { digest: digestOf(bytes), mediaType: json.mediaType, bytes };
  const parsed = parseManifest(bytes, json.mediaType);
  return { content, index: (parsed as { index: ImageIndex }).index, images, attestation };
}

test("one platform picks that manifest", async () => {
  const { content, index: idx, images } = await index();
  const choice = choosePlatforms(content, idx, [parsePlatform("linux/arm64")]);
  expect(choice).toEqual({ kind: "single", descriptor: idx.manifests[1]! });
  expect(choice.kind === "single" && choice.descriptor.digest).toBe(images[1]!.descriptor.digest);
});

test("several platforms rewrite the index, keeping unknown fields and the kept images' attestations", async () => {
  const { content, index: idx, images, attestation } = await index();
  const choice = choosePlatforms(content, idx, [parsePlatform("linux/amd64"), parsePlatform("linux/arm/v7")]);
  if (choice.kind !== "rewritten") throw new Error(`expected a rewrite, got ${choice.kind}`);
  const raw = JSON.parse(new TextDecoder().decode(choice.content.bytes));
  expect(raw.manifests.map((m: { digest: string }) => m.digest)).toEqual([
    images[0]!.descriptor.digest,
    images[2]!.descriptor.digest,
    attestation.digest,
  ]);
  expect(raw.manifests[0]["x-extra"]).toBe("kept");
  expect(raw.annotations).toEqual({ "org.example": "stays" });
  expect(choice.content.digest).toBe(digestOf(choice.content.bytes));
  expect(choice.content.digest).not.toBe(content.digest);
});

test("an attestation of a dropped image is dropped too; all matching means unchanged", async () => {
  const { content, index: idx } = await index();
  const choice = choosePlatforms(content, idx, [parsePlatform("linux/arm64"), parsePlatform("linux/arm")]);
  expect(choice.kind === "rewritten" && choice.kept.map((d) => d.platform?.architecture)).toEqual(["arm64", "arm"]);
  const all = choosePlatforms(content, idx, ["linux/amd64", "linux/arm64", "linux/arm"].map(parsePlatform));
  expect(all).toEqual({ kind: "unchanged" });
});

test("no match names the platforms the index has", async () => {
  const { content, index: idx } = await index();
  expect(() => choosePlatforms(content, idx, [parsePlatform("linux/ppc64le")])).toThrow(
    "no manifest for linux/ppc64le in the index (it has linux/amd64, linux/arm64/v8, linux/arm/v7)",
  );
});
