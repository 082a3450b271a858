import { describe, expect, test } from "bun:test";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import {
  annotationsOf,
  artifactTypeOf,
  bareMediaType,
  EMPTY_JSON,
  MANIFEST_SIZE_MAX,
  manifestReferences,
  MediaType,
  OciError,
  parseManifest,
  SCHEMA1_REFUSED,
} from "../../../src/oci/index.ts";
import { generateArtifact, generateImage, generateIndex, generateMultiArch } from "../../helpers/images.ts";

const D = (s: string) => digestOf(s);
const desc = (mediaType: string, seed: string, size = 10, extra: object = {}) => ({ mediaType, digest: D(seed), size, ...extra });
const bytesOf = (value: unknown) => new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: desc(MediaType.ociConfig, "config"),
  layers: [desc(MediaType.ociLayerGzip, "layer-1"), desc(MediaType.ociLayerZstd, "layer-2")],
};
const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    desc(MediaType.ociManifest, "amd64", 500, { platform: { os: "linux", architecture: "amd64" } }),
    desc(MediaType.ociManifest, "arm64", 500, { platform: { os: "linux", architecture: "arm64", variant: "v8" } }),
  ],
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: desc(MediaType.dockerConfig, "config"),
  layers: [desc(MediaType.dockerLayerGzip, "layer-1")],
};
const dockerList = { ...ociIndex, mediaType: MediaType.dockerManifestList };

/** The message of the OciError parseManifest throws (and that it is MANIFEST_INVALID). */
function refusal(value: unknown, declared?: string): string {
  try {
    parseManifest(value instanceof Uint8Array ? value : bytesOf(value), declared);
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    expect(error.code).toBe("MANIFEST_INVALID");
    return error.message;
  }
  throw new Error("accepted");
}

describe("each manifest media type", () => {
  const table: [label: string, body: object, declared: string | undefined, kind: "image" | "index", mediaType: string][] = [
    ["OCI image manifest", ociManifest, MediaType.ociManifest, "image", MediaType.ociManifest],
    ["OCI image manifest, no Content-Type", ociManifest, undefined, "image", MediaType.ociManifest],
    ["OCI image manifest, no mediaType anywhere", { ...ociManifest, mediaType: undefined }, undefined, "image", MediaType.ociManifest],
    ["OCI image manifest, type from Content-Type", { ...ociManifest, mediaType: undefined }, MediaType.ociManifest, "image", MediaType.ociManifest],
    ["OCI index", ociIndex, MediaType.ociIndex, "index", MediaType.ociIndex],
    ["OCI index, no mediaType anywhere", { ...ociIndex, mediaType: undefined }, undefined, "index", MediaType.ociIndex],
    ["Docker schema2 manifest", dockerManifest, MediaType.dockerManifest, "image", MediaType.dockerManifest],
    ["Docker schema2 manifest, no Content-Type", dockerManifest, undefined, "image", MediaType.dockerManifest],
    ["Docker manifest list", dockerList, MediaType.dockerManifestList, "index", MediaType.dockerManifestList],
    ["Content-Type with parameters", ociManifest, `${MediaType.ociManifest}; charset=utf-8`, "image", MediaType.ociManifest],
    ["Content-Type in capitals", ociManifest, MediaType.ociManifest.toUpperCase(), "image", MediaType.ociManifest],
    ["a generic Content-Type is no claim", dockerManifest, "application/json", "image", MediaType.dockerManifest],
    ["octet-stream is no claim", ociIndex, "application/octet-stream", "index", MediaType.ociIndex],
  ];
  test.each(table)("%s", (_, body, declared, kind, mediaType) => {
    const parsed = parseManifest(bytesOf(body), declared);
    expect([parsed.kind, parsed.mediaType]).toEqual([kind, mediaType]);
  });

  test("artifacts: artifactType, empty config, subject, annotations", () => {
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: "application/vnd.example.sbom.v1",
      config: { ...EMPTY_JSON },
      layers: [desc("application/json", "sbom")],
      subject: desc(MediaType.ociManifest, "subject", 700),
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
    };
    const parsed = parseManifest(bytesOf(artifact), MediaType.ociManifest);
    expect(artifactTypeOf(parsed)).toBe("application/vnd.example.sbom.v1");
    expect(annotationsOf(parsed)).toEqual(artifact.annotations);
    expect(manifestReferences(parsed)).toEqual({
      blobs: [artifact.config, artifact.layers[0]] as never,
      manifests: [],
      subject: artifact.subject as never,
    });
    // Without artifactType, the config's media type stands for it.
    expect(artifactTypeOf(parseManifest(bytesOf(ociManifest)))).toBe(MediaType.ociConfig);
    const index = parseManifest(bytesOf({ ...ociIndex, artifactType: "application/x", annotations: { a: "b" } }));
    expect([artifactTypeOf(index), annotationsOf(index)]).toEqual(["application/x", { a: "b" }]);
  });

  test("unknown fields and unknown digest algorithms pass", () => {
    const body = { ...ociManifest, future: { nested: [1, 2] }, config: { ...ociManifest.config, digest: `blake3:${"a".repeat(64)}` } };
    const parsed = parseManifest(bytesOf(body));
    expect(parsed.kind === "image" && parsed.manifest.config.digest).toBe(`blake3:${"a".repeat(64)}` as Digest);
  });
});

describe("generated images, indexes and artifacts", () => {
  test("parse, and reference exactly the blobs and children they were built from", async () => {
    const oci = await generateImage({ seed: "oci", layers: 3 });
    const docker = await generateImage({ seed: "docker", format: "docker" });
    const multi = await generateMultiArch("example.com/multi:1");
    const list = generateIndex(undefined, [docker], "docker");
    const artifact = generateArtifact(oci);
    for (const item of [oci, docker, multi, list, artifact]) {
      const parsed = parseManifest(item.bytes, item.descriptor.mediaType);
      const refs = manifestReferences(parsed);
      expect(refs.blobs.map((d) => d.digest)).toEqual(item.blobs.map((b) => b.descriptor.digest));
      expect(refs.manifests.map((d) => d.digest)).toEqual(item.children.map((c) => c.descriptor.digest));
    }
    expect(manifestReferences(parseManifest(artifact.bytes)).subject?.digest).toBe(oci.descriptor.digest);
  });
});

describe("schema1 is refused with a clear message", () => {
  const schema1 = { schemaVersion: 1, name: "library/busybox", tag: "latest", architecture: "amd64", fsLayers: [], history: [] };
  const table: [string, unknown, string | undefined][] = [
    ["signed Content-Type", schema1, MediaType.dockerSchema1Signed],
    ["unsigned Content-Type", schema1, MediaType.dockerSchema1],
    ["Content-Type with parameters", schema1, `${MediaType.dockerSchema1Signed}; charset=utf-8`],
    ["schemaVersion 1, no Content-Type", schema1, undefined],
    ["schemaVersion 1, generic Content-Type", schema1, "application/json"],
    ["schema1 mediaType inside", { ...ociManifest, mediaType: MediaType.dockerSchema1 }, undefined],
    // Refused before the body is even read.
    ["schema1 Content-Type, any bytes", "not json at all", MediaType.dockerSchema1Signed],
  ];
  test.each(table)("%s", (_, body, declared) => {
    expect(refusal(body, declared)).toBe(SCHEMA1_REFUSED);
    expect(SCHEMA1_REFUSED).toContain("schema1");
  });
});

describe("refusals", () => {
  const table: [label: string, body: unknown, declared: string | undefined, message: string][] = [
    // Content-Type against mediaType
    ["Docker Content-Type, OCI body", ociManifest, MediaType.dockerManifest,
      `Content-Type ${MediaType.dockerManifest} does not match the manifest's mediaType ${MediaType.ociManifest}`],
    ["index Content-Type, manifest body", ociManifest, MediaType.ociIndex,
      `Content-Type ${MediaType.ociIndex} does not match the manifest's mediaType ${MediaType.ociManifest}`],
    ["OCI Content-Type, Docker list body", dockerList, MediaType.ociIndex,
      `Content-Type ${MediaType.ociIndex} does not match the manifest's mediaType ${MediaType.dockerManifestList}`],
    ["index Content-Type, manifest fields", { ...ociManifest, mediaType: undefined }, MediaType.ociIndex,
      "invalid index: manifests: Invalid input: expected array, received undefined"],
    ["Docker type without mediaType in the body", { ...dockerManifest, mediaType: undefined }, MediaType.dockerManifest,
      `a ${MediaType.dockerManifest} manifest must carry its mediaType`],
    ["not a manifest type", { ...ociManifest, mediaType: MediaType.ociConfig }, undefined,
      `unsupported manifest media type "${MediaType.ociConfig}"`],
    ["no way to tell", { schemaVersion: 2 }, undefined, "cannot tell the manifest type: no mediaType, config or manifests"],
    // missing and wrong fields
    ["no schemaVersion", { ...ociManifest, schemaVersion: undefined }, undefined,
      "invalid manifest: schemaVersion: Invalid input: expected 2"],
    ["schemaVersion 3", { ...ociManifest, schemaVersion: 3 }, undefined, "invalid manifest: schemaVersion: Invalid input: expected 2"],
    ["schemaVersion as text", { ...ociManifest, schemaVersion: "2" }, undefined, "invalid manifest: schemaVersion: Invalid input: expected 2"],
    ["no config", { ...ociManifest, config: undefined }, MediaType.ociManifest,
      "invalid manifest: config: Invalid input: expected object, received undefined"],
    ["no layers", { ...ociManifest, layers: undefined }, undefined,
      "invalid manifest: layers: Invalid input: expected array, received undefined"],
    ["layers not a list", { ...ociManifest, layers: {} }, undefined, "invalid manifest: layers: Invalid input: expected array, received object"],
    ["no manifests", { ...ociIndex, manifests: undefined }, undefined,
      "invalid index: manifests: Invalid input: expected array, received undefined"],
    ["descriptor without digest", { ...ociManifest, config: { mediaType: MediaType.ociConfig, size: 1 } }, undefined,
      "invalid manifest: config.digest: Invalid input: expected string, received undefined"],
    ["descriptor without mediaType", { ...ociManifest, config: { digest: D("c"), size: 1 } }, undefined,
      "invalid manifest: config.mediaType: Invalid input: expected string, received undefined"],
    ["descriptor with empty mediaType", { ...ociManifest, config: { ...ociManifest.config, mediaType: "" } }, undefined,
      "invalid manifest: config.mediaType: Too small: expected string to have >=1 characters"],
    ["negative size", { ...ociManifest, config: { ...ociManifest.config, size: -1 } }, undefined,
      "invalid manifest: config.size: Too small: expected number to be >=0"],
    ["fractional size", { ...ociManifest, config: { ...ociManifest.config, size: 1.5 } }, undefined,
      "invalid manifest: config.size: Invalid input: expected int, received number"],
    ["size beyond 2^53", { ...ociManifest, config: { ...ociManifest.config, size: 2 ** 60 } }, undefined,
      "invalid manifest: config.size: Too big: expected int to be <=9007199254740991"],
    ["size as text", { ...ociManifest, config: { ...ociManifest.config, size: "10" } }, undefined,
      "invalid manifest: config.size: Invalid input: expected number, received string"],
    ["annotation that is not a string", { ...ociManifest, annotations: { a: 1 } }, undefined,
      "invalid manifest: annotations.a: Invalid input: expected string, received number"],
    ["platform without os", { ...ociIndex, manifests: [{ ...ociIndex.manifests[0], platform: { architecture: "amd64" } }] }, undefined,
      "invalid index: manifests.0.platform.os: Invalid input: expected string, received undefined"],
    ["mediaType that is not a string", { ...ociManifest, mediaType: 7 }, undefined,
      "invalid manifest: mediaType: Invalid input: expected string, received number"],
    // digests inside descriptors
    ["short sha256", { ...ociManifest, config: { ...ociManifest.config, digest: "sha256:abc" } }, undefined,
      "invalid manifest: config.digest: invalid digest format"],
    ["uppercase sha256", { ...ociManifest, layers: [{ ...ociManifest.layers[0], digest: D("x").toUpperCase().replace("SHA256", "sha256") }] }, undefined,
      "invalid manifest: layers.0.digest: invalid digest format"],
    ["uppercase algorithm", { ...ociManifest, layers: [ociManifest.layers[0], { ...ociManifest.layers[1], digest: D("x").replace("sha256", "SHA256") }] }, undefined,
      "invalid manifest: layers.1.digest: invalid digest format"],
    ["no algorithm", { ...ociIndex, manifests: [{ ...ociIndex.manifests[0], digest: "a".repeat(64) }] }, undefined,
      "invalid index: manifests.0.digest: invalid digest format"],
    ["subject with a bad digest", { ...ociManifest, subject: { ...ociManifest.config, digest: "sha256:" } }, undefined,
      "invalid manifest: subject.digest: invalid digest format"],
    // bytes that are not a JSON object
    ["empty", "", undefined, "manifest is not valid JSON: JSON Parse error: Unexpected EOF"],
    ["truncated", '{"schemaVersion": 2', undefined, "manifest is not valid JSON: JSON Parse error: Expected '}'"],
    ["array", "[]", undefined, "manifest is not a JSON object"],
    ["null", "null", undefined, "manifest is not a JSON object"],
    ["number", "2", undefined, "manifest is not a JSON object"],
    ["string", '"{}"', undefined, "manifest is not a JSON object"],
    ["byte order mark", `\uFEFF${JSON.stringify(ociManifest)}`, undefined, "manifest is not valid JSON: JSON Parse error: Unrecognized token '\uFEFF'"],
  ];
  test.each(table)("%s", (_, body, declared, message) => expect(refusal(body, declared)).toBe(message));

  test("at most three problems are described, each with its path", () => {
    const body = { schemaVersion: 2, config: { size: -1 }, layers: [{}, {}] };
    const message = refusal(body);
    expect(message.startsWith("invalid manifest: config.mediaType: ")).toBe(true);
    expect(message.split("; ")).toHaveLength(3);
  });

  test("bytes that are not UTF-8", () => {
    const bytes = bytesOf(ociManifest);
    const bad = new Uint8Array([...bytes.subarray(0, 20), 0xff, 0xfe, ...bytes.subarray(20)]);
    expect(refusal(bad)).toBe("manifest is not valid UTF-8");
    expect(refusal(new Uint8Array([0xc3]))).toBe("manifest is not valid UTF-8");
  });

  test("more than 4 MiB is refused with 413, before it is parsed; exactly 4 MiB is fine", () => {
    const json = JSON.stringify(ociManifest);
    const exact = bytesOf(json + " ".repeat(MANIFEST_SIZE_MAX - json.length));
    expect(exact.byteLength).toBe(4 * 1024 * 1024);
    expect(parseManifest(exact).kind).toBe("image");
    const over = bytesOf(json + " ".repeat(MANIFEST_SIZE_MAX - json.length + 1));
    try {
      parseManifest(over);
      throw new Error("accepted");
    } catch (error) {
      const e = error as OciError;
      expect([e.code, e.status, e.message]).toEqual(["MANIFEST_INVALID", 413, `manifest is 4194305 bytes; the limit is ${MANIFEST_SIZE_MAX}`]);
    }
  });
});

describe("manifestReferences", () => {
  test("an image needs its config and layers, not foreign layers that carry URLs", () => {
    const foreign = desc(MediaType.dockerForeignLayer, "windows-base", 100, { urls: ["https://example.com/base.tar.gz"] });
    const foreignNoUrls = desc(MediaType.ociLayerNondistributableGzip, "nondist", 100);
    const body = { ...dockerManifest, layers: [foreign, ...dockerManifest.layers, foreignNoUrls] };
    const refs = manifestReferences(parseManifest(bytesOf(body)));
    expect(refs.blobs.map((d) => d.digest)).toEqual([D("config"), D("layer-1"), D("nondist")]);
    expect(refs.manifests).toEqual([]);
    expect(refs.subject).toBeUndefined();
  });

  test("an index needs its manifests and no blobs", () => {
    const refs = manifestReferences(parseManifest(bytesOf(ociIndex)));
    expect([refs.blobs, refs.manifests.map((d) => d.digest)]).toEqual([[], [D("amd64"), D("arm64")]]);
  });
});

test("bareMediaType", () => {
  expect(bareMediaType(`${MediaType.ociIndex} ; charset=utf-8`)).toBe(MediaType.ociIndex);
  expect([bareMediaType(""), bareMediaType(null), bareMediaType(undefined), bareMediaType(" ;x")]).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});
