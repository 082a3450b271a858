/**
 * The real `stevedore serve` driven by skopeo: images, a multi-arch index
 * and an artifact with a subject go in (oci: → docker://) and come back
 * out (docker:// → oci:) with every digest preserved.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaType } from "../../../src/oci/index.ts";
import {
  generateArtifact,
  generateImage,
  generateLayer,
  generateMultiArch,
  type GeneratedManifest,
  writeOciLayout,
} from "../../helpers/images.ts";
import { skopeo } from "../../helpers/skopeo.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

let serve: RunningServe;
let work: string;
beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), "stevedore-skopeo-"));
});
afterAll(async () => {
  // No request of a well-behaved client may have been a server fault.
  expect(serve.log()).not.toMatch(/ 5\d\d \d+ [\d.]+ms$/m);
  expect(await serve.stop()).toBe(0);
  rmSync(work, { recursive: true, force: true });
});

async function copy(...args: string[]): Promise<void> {
  const result = await skopeo(["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", ...args]);
  if (result.code !== 0) throw new Error(`skopeo copy ${args.join(" ")} failed:\n${result.stderr}\nserver log:\n${serve.log().slice(-3000)}`);
}

/** The digest of the manifest an OCI layout holds under `tag`. */
function layoutDigest(dir: string, tag: string): string {
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!entry) throw new Error(`no ${tag} in ${dir}`);
  return entry.digest;
}

async function remoteDigest(repository: string, reference: string): Promise<string | null> {
  const res = await fetch(`${serve.url}/v2/${repository}/manifests/${reference}`, {
    method: "HEAD",
    headers: { Accept: [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(", ") },
  });
  return res.status === 200 ? res.headers.get("docker-content-digest") : null;
}

describe("skopeo round trips", () => {
  test("a multi-layer image, a multi-arch index and an artifact with a subject, in and out, digests preserved", async () => {
    const base = await generateLayer({ seed: "it/base", size: 300_000 });
    const app = await generateImage({ name: "x:1.0", seed: "it/app", baseLayers: [base], layers: 3, layerSize: 200_000 });
    const multi = await generateMultiArch("x:multi", { seed: "it/multi", baseLayers: [base] });
    const sig = generateArtifact(app, { name: "x:sig", artifactType: "application/vnd.example.signature.v1" });
    const src = join(work, "src");
    await writeOciLayout(src, [app, multi, sig], { refName: "tag" });

    await copy("--all", "--preserve-digests", `oci:${src}:1.0`, `docker://${serve.host}/acme/app:1.0`);
    await copy("--all", "--preserve-digests", `oci:${src}:multi`, `docker://${serve.host}/acme/multi:2.0`);
    await copy("--all", "--preserve-digests", `oci:${src}:sig`, `docker://${serve.host}/acme/app:sig`);

    expect(await remoteDigest("acme/app", "1.0")).toBe(app.descriptor.digest);
    expect(await remoteDigest("acme/multi", "2.0")).toBe(multi.descriptor.digest);
    for (const child of multi.children) expect(await remoteDigest("acme/multi", child.descriptor.digest)).toBe(child.descriptor.digest);
    expect(await remoteDigest("acme/app", "sig")).toBe(sig.descriptor.digest);

    // The artifact was indexed under its subject when it was pushed.
    const referrers = (await (await fetch(`${serve.url}/v2/acme/app/referrers/${app.descriptor.digest}`)).json()) as {
      manifests: { digest: string; artifactType?: string }[];
    };
    expect(referrers.manifests).toEqual([
      expect.objectContaining({ digest: sig.descriptor.digest, artifactType: "application/vnd.example.signature.v1" }),
    ]);

    const out = join(work, "out");
    await copy("--all", "--preserve-digests", `docker://${serve.host}/acme/app:1.0`, `oci:${out}:1.0`);
    await copy("--all", "--preserve-digests", `docker://${serve.host}/acme/multi:2.0`, `oci:${out}:multi`);
    await copy("--all", "--preserve-digests", `docker://${serve.host}/acme/app:sig`, `oci:${out}:sig`);
    expect(layoutDigest(out, "1.0")).toBe(app.descriptor.digest);
    expect(layoutDigest(out, "multi")).toBe(multi.descriptor.digest);
    expect(layoutDigest(out, "sig")).toBe(sig.descriptor.digest);
    // Every blob came back byte for byte.
    for (const b of [...app.blobs, ...multi.children.flatMap((c) => c.blobs), ...sig.blobs]) {
      const bytes = readFileSync(join(out, "blobs", "sha256", b.descriptor.digest.slice(7)));
      expect(Buffer.compare(bytes, Buffer.from(b.bytes))).toBe(0);
    }

    const tags = (await (await fetch(`${serve.url}/v2/acme/app/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(["1.0", "sig"]);
    const catalog = (await (await fetch(`${serve.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual(["acme/app", "acme/multi"]);
  });

  test("concurrent pushes of images sharing base layers all succeed", async () => {
    const base = [await generateLayer({ seed: "conc/base-0", size: 400_000 }), await generateLayer({ seed: "conc/base-1", size: 200_000 })];
    const images: GeneratedManifest[] = [];
    for (let i = 0; i < 6; i++) {
      images.push(await generateImage({ name: `x:img${i}`, seed: `conc/${i}`, baseLayers: base, layers: 1, layerSize: 50_000 }));
    }
    const src = join(work, "conc");
    await writeOciLayout(src, images, { refName: "tag" });
    // Three repositories, two images each, all at once: shared blobs race within and across repositories.
    await Promise.all(images.map((_, i) => copy(`oci:${src}:img${i}`, `docker://${serve.host}/conc/r${i % 3}:img${i}`)));
    for (let i = 0; i < images.length; i++) {
      expect(await remoteDigest(`conc/r${i % 3}`, `img${i}`)).toBe(images[i]!.descriptor.digest);
    }
    const out = join(work, "conc-out");
    await Promise.all(images.map((_, i) => copy(`docker://${serve.host}/conc/r${i % 3}:img${i}`, `oci:${out}-${i}:img${i}`)));
    for (let i = 0; i < images.length; i++) expect(layoutDigest(`${out}-${i}`, `img${i}`)).toBe(images[i]!.descriptor.digest);
  });
});
