/** Repositories, tags and usage after pushing known images through the registry. */
import { expect, test } from "bun:test";
import type { RepositoryView, TagView } from "../../../src/admin/index.ts";
import type { UsageReport } from "../../../src/store/index.ts";
import { allBlobs, allManifests, type GeneratedManifest, generateImage, generateLayer, generateMultiArch } from "../../helpers/images.ts";
import { adminHarness, type Harness } from "./harness.ts";

/** Push through the registry API: blobs, child manifests by digest, then the tag. */
async function push(h: Harness, repository: string, m: GeneratedManifest, tag: string) {
  for (const b of allBlobs([m])) {
    const res = await h.registry(`/v2/${repository}/blobs/uploads/?digest=${b.descriptor.digest}`, { method: "POST", body: b.bytes });
    expect(res.status).toBe(201);
  }
  for (const child of m.children) {
    const res = await h.registry(`/v2/${repository}/manifests/${child.descriptor.digest}`, { method: "PUT", body: child.bytes, headers: { "Content-Type": child.descriptor.mediaType } });
    expect(res.status).toBe(201);
  }
  const res = await h.registry(`/v2/${repository}/manifests/${tag}`, { method: "PUT", body: m.bytes, headers: { "Content-Type": m.descriptor.mediaType } });
  expect(res.status).toBe(201);
}

/** Bytes a tag reaches: distinct blobs and manifests. */
const reach = (m: GeneratedManifest) => [...allBlobs([m]), ...allManifests([m])].reduce((s, b) => s + b.descriptor.size, 0);

test("repositories, tags (platforms of an index, pull times) and usage match what was pushed", async () => {
  await using h = await adminHarness();
  const base = await generateLayer({ seed: "base", size: 3000 });
  const app1 = await generateImage({ name: "acme/app:1.0", seed: "app1", baseLayers: [base], layerSize: 500 });
  const app2 = await generateImage({ name: "acme/app:2.0", seed: "app2", baseLayers: [base], layerSize: 700 });
  const multi = await generateMultiArch("library/multi:3", { baseLayers: [base], layerSize: 300 });
  const started = Date.now();
  await push(h, "acme/app", app1, "1.0");
  await push(h, "acme/app", app2, "2.0");
  await push(h, "acme/app", app2, "latest");
  await push(h, "mirror/library/multi", multi, "3");
  // A pull (GET, not HEAD) is recorded.
  await h.registry("/v2/acme/app/manifests/2.0", { method: "HEAD" });
  expect((await h.registry("/v2/acme/app/manifests/2.0")).status).toBe(200);
  await h.pulls.flush();

  const repos = (await (await h.api("GET", "/api/v1/repositories")).json()) as { repositories: RepositoryView[]; next?: string };
  const appBytes = [...allBlobs([app1, app2]), ...allManifests([app1, app2])].reduce((s, b) => s + b.descriptor.size, 0);
  expect(repos.repositories.map(({ lastPush, ...r }) => {
    expect(Date.parse(lastPush!)).toBeGreaterThanOrEqual(started - 1000);
    return r;
  })).toEqual([
    { name: "acme/app", tags: 3, manifests: 2, size: appBytes },
    { name: "mirror/library/multi", tags: 1, manifests: 3, size: reach(multi) },
  ]);
  expect(repos.next).toBeUndefined();
  const page = (await (await h.api("GET", "/api/v1/repositories?n=1")).json()) as { repositories: RepositoryView[]; next?: string };
  expect([page.repositories.map((r) => r.name), page.next]).toEqual([["acme/app"], "acme/app"]);
  const rest = (await (await h.api("GET", "/api/v1/repositories?n=1&last=acme/app")).json()) as { repositories: RepositoryView[] };
  expect(rest.repositories.map((r) => r.name)).toEqual(["mirror/library/multi"]);

  const appTags = (await (await h.api("GET", "/api/v1/repositories/acme/app/tags")).json()) as { repository: string; tags: TagView[] };
  expect(appTags.repository).toBe("acme/app");
  expect(appTags.tags.map(({ pushed, lastPulled, ...t }) => ({ ...t, pulled: lastPulled !== undefined, pushed: Date.parse(pushed) >= started - 1000 }))).toEqual([
    { tag: "1.0", digest: app1.descriptor.digest, mediaType: app1.descriptor.mediaType, size: reach(app1), pulled: false, pushed: true },
    { tag: "2.0", digest: app2.descriptor.digest, mediaType: app2.descriptor.mediaType, size: reach(app2), pulled: true, pushed: true },
    // Pull times belong to the manifest: "latest" points at the one pulled as 2.0.
    { tag: "latest", digest: app2.descriptor.digest, mediaType: app2.descriptor.mediaType, size: reach(app2), pulled: true, pushed: true },
  ]);
  const multiTags = (await (await h.api("GET", "/api/v1/repositories/mirror/library/multi/tags")).json()) as { tags: TagView[] };
  expect(multiTags.tags.map((t) => [t.tag, t.platforms, t.size])).toEqual([["3", ["linux/amd64", "linux/arm64/v8"], reach(multi)]]);
  // An encoded slash names the same repository.
  const encoded = await h.api("GET", "/api/v1/repositories/mirror%2Flibrary%2Fmulti/tags");
  expect(((await encoded.json()) as { tags: TagView[] }).tags.length).toBe(1);

  const usage = (await (await h.api("GET", "/api/v1/usage")).json()) as UsageReport;
  const blobsOf = (items: GeneratedManifest[]) => allBlobs(items).reduce((s, b) => s + b.descriptor.size, 0);
  const appBlobs = blobsOf([app1, app2]);
  const multiBlobs = blobsOf([multi]);
  expect(usage.blobs).toEqual({ count: allBlobs([app1, app2, multi]).length, bytes: blobsOf([app1, app2, multi]) });
  expect(usage.shared).toEqual({ count: 1, bytes: base.descriptor.size });
  expect(usage.logicalBytes).toBe(appBlobs + multiBlobs);
  expect(usage.repositories).toEqual([
    { name: "acme/app", blobs: allBlobs([app1, app2]).length, bytes: appBlobs, uniqueBytes: appBlobs - base.descriptor.size, sharedBytes: base.descriptor.size },
    { name: "mirror/library/multi", blobs: allBlobs([multi]).length, bytes: multiBlobs, uniqueBytes: multiBlobs - base.descriptor.size, sharedBytes: base.descriptor.size },
  ]);
});

test("an empty store: no repositories, zero usage", async () => {
  await using h = await adminHarness();
  expect(await (await h.api("GET", "/api/v1/repositories")).json()).toEqual({ repositories: [] });
  expect(((await (await h.api("GET", "/api/v1/usage")).json()) as UsageReport).blobs).toEqual({ count: 0, bytes: 0 });
});
