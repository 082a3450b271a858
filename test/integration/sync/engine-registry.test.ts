/**
 * The copy engine from an OCI layout into real registries (CNCF
 * docker-registry and `stevedore serve`): a generated release with shared
 * base layers, a multi-arch index and artifacts; every tag checked with
 * skopeo; a second run moves nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { type SyncEvent, syncImages } from "../../../src/sync/index.ts";
import type { DestinationEndpoint, SourceEndpoint, SourceImage } from "../../../src/transports/endpoint.ts";
import { OciLayoutHome } from "../../../src/transports/layout/oci-layout-home.ts";
import { openRegistry } from "../../../src/transports/remote/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { generateArtifact, generateRelease, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { skopeo } from "../../helpers/skopeo.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

const dir = mkdtempSync(join(tmpdir(), "sync-it-"));
let release: GeneratedManifest[];
let signature: GeneratedManifest;
let registry: DockerRegistry;
let serve: RunningServe;

beforeAll(async () => {
  release = await generateRelease({ layerSize: 64 * 1024, images: 5 });
  // An artifact without a name, found only through the referrers of app-0 (an index.json entry
  // without ref.name, as the image layout spec keeps referrers).
  signature = generateArtifact(release[0]!, { payload: "cosign-like signature" });
  await writeOciLayout(dir, [...release, signature]);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  index.manifests.push(signature.descriptor);
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
  [registry, serve] = await Promise.all([startDockerRegistry(), startServe()]);
});
afterAll(async () => {
  await Promise.allSettled([registry?.stop(), serve?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Every tagged image of the layout, named by its full reference. */
async function layoutSource(): Promise<SourceEndpoint> {
  const home = await OciLayoutHome.open(dir);
  return {
    home,
    list: async () => {
      const out: SourceImage[] = [];
      for (const repository of await home.repositories()) {
        for (const tag of await home.tags(repository)) {
          out.push({ repository, reference: tag, name: parseNormalizedReference(`${repository}:${tag}`) });
        }
      }
      return out;
    },
  };
}

function registryDestination(host: string): DestinationEndpoint {
  const home = openRegistry(host, { certDirs: [], env: {} });
  return { home, target: (image) => ({ repository: image.name.path, ...(image.name.tag ? { tag: image.name.tag } : {}) }) };
}

/** The digest skopeo sees for a reference: sha256 of the raw manifest bytes. */
async function digestBySkopeo(reference: string): Promise<string> {
  const result = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reference}`]);
  if (result.code !== 0) throw new Error(`skopeo inspect ${reference}: ${result.stderr}`);
  return digestOf(result.stdout);
}

async function expectAllTags(host: string) {
  const seen: string[] = [];
  const want: string[] = [];
  for (const item of release) {
    const name = parseNormalizedReference(item.name!);
    seen.push(`${name.path}:${name.tag} ${await digestBySkopeo(`${host}/${name.path}:${name.tag}`)}`);
    want.push(`${name.path}:${name.tag} ${item.descriptor.digest}`);
  }
  expect(seen).toEqual(want);
}

for (const which of ["docker-registry", "stevedore serve"] as const) {
  describe(`into ${which}`, () => {
    const host = () => (which === "docker-registry" ? registry.host : serve.host);

    test("a release lands tag for tag; shared layers go once; referrers follow", async () => {
      const events: SyncEvent[] = [];
      const summary = await syncImages(await layoutSource(), registryDestination(host()), {
        referrers: true,
        onEvent: (e) => void events.push(e),
      });
      expect(summary.failures).toEqual([]);
      expect(summary.images).toEqual({ total: release.length, synced: release.length, skipped: 0, failed: 0, cancelled: 0 });
      await expectAllTags(host());
      // The base layers are shared by every repository: one upload each, mounts elsewhere.
      const pushed = events.flatMap((e) => (e.type === "blob-done" && e.action === "pushed" ? [e.digest] : []));
      expect(new Set(pushed).size).toBe(pushed.length);
      expect(summary.blobs.mounted).toBeGreaterThan(0);
      const app0 = parseNormalizedReference(release[0]!.name!).path;
      expect(await digestBySkopeo(`${host()}/${app0}@${signature.descriptor.digest}`)).toBe(signature.descriptor.digest);
    });

    test("a second run moves nothing", async () => {
      const summary = await syncImages(await layoutSource(), registryDestination(host()));
      expect(summary.images.skipped).toBe(release.length);
      expect(summary.blobs).toEqual({ pushed: 0, mounted: 0, skipped: 0 });
      expect(summary.seconds).toBeLessThan(2);
    });
  });
}
