/**
 * buildah against the real `stevedore serve`: an image built from scratch
 * (files copied in, config set, committed; nothing runs) is pushed as OCI
 * and as Docker schema 2, then pulled back and mounted, and
 * its files compared byte for byte. Storage and configuration live in a
 * temp dir; no daemon, no runtime.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MediaType } from "../../src/oci/index.ts";
import { randomBytes } from "../helpers/images.ts";
import { type RunningServe, startServe } from "../helpers/stevedore-serve.ts";
import { expectComplete, getBlob, getManifest, serverFaults, type Target } from "./registry-api.ts";
import { containersSandbox, mustExec, requireTool, tempDir } from "./tools.ts";

const work = tempDir("buildah");
const sandbox = containersSandbox(join(work.path, "c"));
let serve: RunningServe;
let target: Target;
const greeting = "hello from a stevedore registry\n";
const payload = randomBytes("buildah/payload", 300_000);

beforeAll(async () => {
  serve = await startServe();
  target = { url: serve.url };
  writeFileSync(join(work.path, "greeting.txt"), greeting);
  writeFileSync(join(work.path, "payload.bin"), payload);
});
afterAll(async () => {
  try {
    expect(serverFaults(serve.log())).toEqual([]);
    expect(await serve.stop()).toBe(0);
  } finally {
    work.remove();
  }
});

function buildah(args: string[]): Promise<string> {
  const bin = requireTool("buildah");
  return mustExec([bin, ...sandbox.storageFlags, ...args], { env: sandbox.env, context: () => serve.log() });
}

/** Build the test image from scratch and commit it locally in `format` under `name`. */
async function buildFromScratch(name: string, format: "oci" | "docker"): Promise<void> {
  const container = (await buildah(["from", "--signature-policy", sandbox.policy, "scratch"])).trim();
  await buildah(["copy", container, join(work.path, "greeting.txt"), "/etc/greeting.txt"]);
  await buildah(["copy", container, join(work.path, "payload.bin"), "/data/payload.bin"]);
  await buildah(["config", "--cmd", "/bin/true", "--label", "org.example.built-by=buildah", "--env", "STEVEDORE=1", container]);
  await buildah(["commit", "--signature-policy", sandbox.policy, "--format", format, "--rm", container, name]);
}

/** Push a local image to the registry; the digest buildah reports. */
async function push(name: string, repository: string, tag: string, flags: string[] = []): Promise<string> {
  const digestFile = join(work.path, `digest-${tag}`);
  await buildah([
    "push", "--tls-verify=false", "--signature-policy", sandbox.policy, "--digestfile", digestFile, ...flags,
    name, `docker://${serve.host}/${repository}:${tag}`,
  ]);
  return readFileSync(digestFile, "utf8").trim();
}

describe("buildah", () => {
  test("pushes an image built from scratch as OCI and as Docker schema 2; the registry holds what it says", async () => {
    await buildFromScratch("local/app:oci", "oci");
    await buildFromScratch("local/app:docker", "docker");
    const cases = [
      { name: "local/app:oci", tag: "oci", flags: [], manifest: MediaType.ociManifest, layer: MediaType.ociLayerGzip },
      { name: "local/app:docker", tag: "v2s2", flags: ["--format", "v2s2"], manifest: MediaType.dockerManifest, layer: MediaType.dockerLayerGzip },
    ];
    for (const c of cases) {
      const digest = await push(c.name, "buildah/app", c.tag, c.flags);
      const m = await getManifest(target, "buildah/app", c.tag);
      expect({ digest: m.digest, mediaType: m.mediaType, layers: m.json.layers?.map((l) => l.mediaType) }).toEqual({
        digest,
        mediaType: c.manifest,
        layers: [c.layer],
      });
      await expectComplete(target, "buildah/app", digest);
      const config = JSON.parse(new TextDecoder().decode(await getBlob(target, "buildah/app", m.json.config!.digest)));
      expect(config.config.Labels).toMatchObject({ "org.example.built-by": "buildah" });
      expect(config.config.Env).toContain("STEVEDORE=1");
      // The one layer is a tar holding both files.
      const layer = await getBlob(target, "buildah/app", m.json.layers![0]!.digest);
      const tar = Bun.gunzipSync(layer as Uint8Array<ArrayBuffer>);
      expect(Buffer.from(tar).includes(Buffer.from(greeting))).toBe(true);
      expect(Buffer.from(tar).includes(Buffer.from(payload.subarray(0, 4096)))).toBe(true);
    }
  });

  test("pulls the pushed image back, mounts it and finds the files byte for byte", async () => {
    await buildah(["rmi", "--all", "--force"]);
    for (const tag of ["oci", "v2s2"]) {
      const reference = `${serve.host}/buildah/app:${tag}`;
      const container = (await buildah(["from", "--tls-verify=false", "--signature-policy", sandbox.policy, reference])).trim();
      const image = (await buildah(["inspect", "--type", "container", "--format", "{{.FromImageID}} {{.FromImageDigest}}", container])).trim();
      const m = await getManifest(target, "buildah/app", tag);
      expect(image).toBe(`${m.json.config!.digest.slice("sha256:".length)} ${m.digest}`);
      const mountPoint = (await buildah(["mount", container])).trim();
      try {
        expect(readFileSync(join(mountPoint, "etc/greeting.txt"), "utf8")).toBe(greeting);
        expect(Buffer.compare(readFileSync(join(mountPoint, "data/payload.bin")), Buffer.from(payload))).toBe(0);
      } finally {
        await buildah(["umount", container]);
        await buildah(["rm", container]);
      }
    }
  });
});
