import { describe, expect, test } from "bun:test";
import { MediaType } from "../../../src/oci/index.ts";
import { blob, configBlob, imageIndex, imageManifest, manifestOf } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

async function withImage(r: Awaited<ReturnType<typeof registry>>, repo = "app", layerText = "layer") {
  const config = configBlob();
  const layer = blob(layerText);
  await r.pushBlob(repo, config);
  await r.pushBlob(repo, layer);
  return { config, layer, manifest: imageManifest(config, [layer]) };
}

describe("manifest push and pull", () => {
  test("PUT by tag, then GET/HEAD by tag and digest serve the exact bytes and type", async () => {
    await using r = await registry();
    const { manifest } = await withImage(r);
    const put = await r.pushManifest("app", "v1", manifest);
    expect(put.headers.get("location")).toBe(`/v2/app/manifests/${manifest.digest}`);
    expect(put.headers.get("docker-content-digest")).toBe(manifest.digest);
    for (const ref of ["v1", manifest.digest]) {
      const get = await r.request(`/v2/app/manifests/${ref}`, { headers: { Accept: MediaType.ociManifest } });
      expect(get.status).toBe(200);
      expect(new Uint8Array(await get.arrayBuffer())).toEqual(manifest.bytes);
      expect(get.headers.get("content-type")).toBe(MediaType.ociManifest);
      expect(get.headers.get("docker-content-digest")).toBe(manifest.digest);
      const head = await r.request(`/v2/app/manifests/${ref}`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe(String(manifest.size));
      expect(head.headers.get("content-type")).toBe(MediaType.ociManifest);
      expect(head.headers.get("docker-content-digest")).toBe(manifest.digest);
      expect(await head.text()).toBe("");
    }
    const missing = await r.request("/v2/app/manifests/v2");
    expect([missing.status, await errorCode(missing)]).toEqual([404, "MANIFEST_UNKNOWN"]);
    const unknownRepo = await r.request("/v2/nothing/manifests/v1");
    expect([unknownRepo.status, await errorCode(unknownRepo)]).toEqual([404, "NAME_UNKNOWN"]);
  });

  test("Docker schema2 manifests and manifest lists keep their Content-Type", async () => {
    await using r = await registry();
    const config = blob('{"architecture":"amd64","os":"linux"}', MediaType.dockerConfig);
    const layer = blob("docker layer", MediaType.dockerLayerGzip);
    await r.pushBlob("d", config);
    await r.pushBlob("d", layer);
    const m = manifestOf(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
      },
      MediaType.dockerManifest,
    );
    await r.pushManifest("d", m.digest, m);
    const list = manifestOf(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifestList,
        manifests: [{ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os: "linux", architecture: "amd64" } }],
      },
      MediaType.dockerManifestList,
    );
    await r.pushManifest("d", "latest", list);
    const get = await r.request("/v2/d/manifests/latest");
    expect(get.headers.get("content-type")).toBe(MediaType.dockerManifestList);
    expect((await r.request(`/v2/d/manifests/${m.digest}`)).headers.get("content-type")).toBe(MediaType.dockerManifest);
  });

  test("an index needs its children; PUT by digest with several ?tag= tags them all", async () => {
    await using r = await registry();
    const amd = await withImage(r, "multi", "amd64");
    const arm = await withImage(r, "multi", "arm64");
    const index = imageIndex([amd.manifest, arm.manifest]);
    const early = await r.request(`/v2/multi/manifests/${index.digest}`, {
      method: "PUT",
      body: index.bytes,
      headers: { "Content-Type": index.mediaType },
    });
    expect([early.status, await errorCode(early)]).toEqual([400, "MANIFEST_BLOB_UNKNOWN"]);
    await r.pushManifest("multi", amd.manifest.digest, amd.manifest);
    await r.pushManifest("multi", arm.manifest.digest, arm.manifest);
    const put = await r.request(`/v2/multi/manifests/${index.digest}?tag=1.0&tag=latest`, {
      method: "PUT",
      body: index.bytes,
      headers: { "Content-Type": index.mediaType },
    });
    // OCI-Tag confirms the tags the push set (a client checks it before trusting ?tag=).
    expect([put.status, put.headers.get("oci-tag")]).toEqual([201, "1.0, latest"]);
    expect(await (await r.request("/v2/multi/tags/list")).json()).toEqual({ name: "multi", tags: ["1.0", "latest"] });
  });

  test("bad manifests are refused with the right code and leave no tag", async () => {
    await using r = await registry();
    const { manifest, config } = await withImage(r);
    const missingLayer = imageManifest(config, [blob("never pushed")]);
    const put = (ref: string, body: BodyInit, type: string = MediaType.ociManifest, extra: Record<string, string> = {}) =>
      r.request(`/v2/app/manifests/${ref}`, { method: "PUT", body, headers: { "Content-Type": type, ...extra } });
    const cases: [string, Promise<Response>, number, string][] = [
      ["missing blob", put("v1", missingLayer.bytes), 400, "MANIFEST_BLOB_UNKNOWN"],
      ["not JSON", put("v1", "{not json"), 400, "MANIFEST_INVALID"],
      ["no schema", put("v1", JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest })), 400, "MANIFEST_INVALID"],
      ["type clash", put("v1", manifest.bytes, MediaType.dockerManifest), 400, "MANIFEST_INVALID"],
      ["schema1", put("v1", JSON.stringify({ schemaVersion: 1, fsLayers: [] }), MediaType.dockerSchema1Signed), 400, "MANIFEST_INVALID"],
      ["digest mismatch", put(blob("x").digest, manifest.bytes), 400, "DIGEST_INVALID"],
      ["bad digest", put("sha256:123", manifest.bytes), 400, "DIGEST_INVALID"],
      ["bad tag", put("-v1", manifest.bytes), 400, "TAG_INVALID"],
      ["bad extra tag", put(`${manifest.digest}?tag=a%20b`, manifest.bytes), 400, "TAG_INVALID"],
      ["oversized", put("v1", new Uint8Array(4 * 1024 * 1024 + 1)), 413, "MANIFEST_INVALID"],
      ["declared oversized", put("v1", "{}", MediaType.ociManifest, { "Content-Length": String(5 * 1024 * 1024) }), 413, "MANIFEST_INVALID"],
    ];
    for (const [what, response, status, code] of cases) {
      const res = await response;
      expect([what, res.status, await errorCode(res)]).toEqual([what, status, code]);
    }
    expect(await (await r.request("/v2/app/tags/list")).json()).toEqual({ name: "app", tags: [] });
    expect((await r.request(`/v2/app/manifests/${missingLayer.digest}`, { method: "HEAD" })).status).toBe(404);
  });

  test("manifest GETs answer If-None-Match with 304", async () => {
    await using r = await registry();
    const { manifest } = await withImage(r);
    await r.pushManifest("app", "v1", manifest);
    const res = await r.request("/v2/app/manifests/v1", { headers: { "If-None-Match": `"${manifest.digest}"` } });
    expect(res.status).toBe(304);
  });
});

describe("referrers", () => {
  test("OCI-Subject on PUT, even before the subject exists; referrers listed and filtered", async () => {
    await using r = await registry();
    const { manifest } = await withImage(r);
    const empty = blob("{}", MediaType.ociEmpty);
    await r.pushBlob("app", empty);
    const subject = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    const sbom = imageManifest(empty, [], { artifactType: "application/spdx+json", subject });
    const sig = imageManifest(empty, [], { artifactType: "application/vnd.example.sig", subject, annotations: { by: "ci" } });
    const put = await r.pushManifest("app", sbom.digest, sbom);
    expect(put.headers.get("oci-subject")).toBe(manifest.digest);
    await r.pushManifest("app", sig.digest, sig);
    await r.pushManifest("app", "v1", manifest);

    const all = await r.request(`/v2/app/referrers/${manifest.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe(MediaType.ociIndex);
    expect(all.headers.get("oci-filters-applied")).toBeNull();
    const body = (await all.json()) as { schemaVersion: number; mediaType: string; manifests: { digest: string }[] };
    expect(body.schemaVersion).toBe(2);
    expect(body.mediaType).toBe(MediaType.ociIndex);
    expect(body.manifests.map((m) => m.digest).sort()).toEqual([sbom.digest, sig.digest].sort());

    const filtered = await r.request(`/v2/app/referrers/${manifest.digest}?artifactType=application/vnd.example.sig`);
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([
      { mediaType: MediaType.ociManifest, digest: sig.digest, size: sig.size, artifactType: "application/vnd.example.sig", annotations: { by: "ci" } },
    ]);

    const none = await r.request(`/v2/app/referrers/${blob("nothing").digest}`);
    expect(await none.json()).toEqual({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
    const bad = await r.request("/v2/app/referrers/sha256:zz");
    expect([bad.status, await errorCode(bad)]).toEqual([400, "DIGEST_INVALID"]);
  });
});

describe("manifest deletes", () => {
  test("by tag removes the tag; by digest removes the manifest and its tags", async () => {
    await using r = await registry();
    const { manifest } = await withImage(r);
    await r.pushManifest("app", "v1", manifest);
    await r.pushManifest("app", "v2", manifest);
    expect((await r.request("/v2/app/manifests/v1", { method: "DELETE" })).status).toBe(202);
    expect(await (await r.request("/v2/app/tags/list")).json()).toEqual({ name: "app", tags: ["v2"] });
    expect((await r.request(`/v2/app/manifests/${manifest.digest}`, { method: "DELETE" })).status).toBe(202);
    expect(await (await r.request("/v2/app/tags/list")).json()).toEqual({ name: "app", tags: [] });
    const again = await r.request(`/v2/app/manifests/${manifest.digest}`, { method: "DELETE" });
    expect([again.status, await errorCode(again)]).toEqual([404, "MANIFEST_UNKNOWN"]);
  });

  test("--no-delete refuses with 405 and keeps everything", async () => {
    await using r = await registry({ noDelete: true });
    const { manifest } = await withImage(r);
    await r.pushManifest("app", "v1", manifest);
    for (const ref of ["v1", manifest.digest]) {
      const res = await r.request(`/v2/app/manifests/${ref}`, { method: "DELETE" });
      expect([res.status, await errorCode(res)]).toEqual([405, "UNSUPPORTED"]);
    }
    expect((await r.request("/v2/app/manifests/v1", { method: "HEAD" })).status).toBe(200);
  });
});
