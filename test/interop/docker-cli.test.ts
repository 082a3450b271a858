/**
 * The docker CLI against the real `stevedore serve`, with no engine: the
 * registry-facing commands run in the client. `docker login` against an
 * htpasswd-protected registry (the credentials land in DOCKER_CONFIG's
 * config.json, which every later command uses); `docker manifest inspect`;
 * `docker manifest create`, `annotate` and `push` of a list made from two
 * images skopeo pushed. DOCKER_CONFIG is set per command, never globally.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MediaType } from "../../src/oci/index.ts";
import { generateImage, generateMultiArch, type GeneratedManifest, writeOciLayout } from "../helpers/images.ts";
import { skopeo } from "../helpers/skopeo.ts";
import { run, type RunningServe, startServe } from "../helpers/stevedore-serve.ts";
import { expectComplete, getManifest, manifestDigest, pushGenerated, serverFaults, type Target } from "./registry-api.ts";
import { exec, mustExec, requireTool, tempDir } from "./tools.ts";

const DOCKER_INSTALL = "the docker CLI alone is enough: docker-ce-cli, or the docker.io package";
const work = tempDir("docker-cli");
const dockerConfig = join(work.path, "docker-config");
let serve: RunningServe;
let target: Target;
let amd: GeneratedManifest;
let arm: GeneratedManifest;
let multi: GeneratedManifest;

beforeAll(async () => {
  const htpasswd = join(work.path, "htpasswd");
  writeFileSync(htpasswd, await run(["htpasswd", "-Bbn", "alice", "s3cret"]));
  serve = await startServe({ args: ["--htpasswd", htpasswd] });
  target = { url: serve.url, auth: { username: "alice", password: "s3cret" } };
  amd = await generateImage({ name: "x:amd64", seed: "docker/amd64", layers: 2, layerSize: 30_000 });
  arm = await generateImage({ name: "x:arm64", seed: "docker/arm64", layers: 1, layerSize: 30_000, platform: { os: "linux", architecture: "arm64", variant: "v8" } });
  multi = await generateMultiArch("x:multi", { seed: "docker/multi" });
  await pushGenerated(target, "given/multi", "2.0", multi);
});
afterAll(async () => {
  try {
    expect(serverFaults(serve.log())).toEqual([]);
    expect(await serve.stop()).toBe(0);
  } finally {
    work.remove();
  }
});

/** docker with our config directory, for this command only. */
function docker(args: string[], stdin?: string) {
  return exec([requireTool("docker", DOCKER_INSTALL), ...args], { env: { DOCKER_CONFIG: dockerConfig }, stdin });
}

async function mustDocker(args: string[]): Promise<string> {
  return mustExec([requireTool("docker", DOCKER_INSTALL), ...args], { env: { DOCKER_CONFIG: dockerConfig }, context: () => serve.log() });
}

describe("docker CLI without an engine", () => {
  test("login: a wrong password is refused; the right one is stored in DOCKER_CONFIG", async () => {
    const wrong = await docker(["login", serve.host, "-u", "alice", "--password-stdin"], "nope");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|401|authentication required/i);

    const ok = await docker(["login", serve.host, "-u", "alice", "--password-stdin"], "s3cret");
    expect(ok.stdout).toContain("Login Succeeded");
    expect(ok.code).toBe(0);
    const config = JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8")) as { auths: Record<string, { auth: string }> };
    expect(config.auths[serve.host]).toEqual({ auth: btoa("alice:s3cret") });
  });

  test("manifest inspect shows an image and an index as the registry holds them", async () => {
    await pushGenerated(target, "given/amd", "1.0", amd);
    const image = JSON.parse(await mustDocker(["manifest", "inspect", "--insecure", `${serve.host}/given/amd:1.0`]));
    expect(image).toEqual(JSON.parse(new TextDecoder().decode(amd.bytes)));
    const index = JSON.parse(await mustDocker(["manifest", "inspect", "--insecure", `${serve.host}/given/multi:2.0`]));
    expect(index).toEqual(JSON.parse(new TextDecoder().decode(multi.bytes)));
    // Verbose: the client resolves each entry and reports its digest.
    const verbose = JSON.parse(await mustDocker(["manifest", "inspect", "--insecure", "--verbose", `${serve.host}/given/amd:1.0`]));
    expect(verbose.Descriptor).toMatchObject({ digest: amd.descriptor.digest, mediaType: MediaType.ociManifest, size: amd.descriptor.size });
  });

  test("manifest create, annotate and push a list of two images skopeo pushed; the registry holds that list", async () => {
    const layout = join(work.path, "layout");
    await writeOciLayout(layout, [amd, arm], { refName: "tag" });
    // One image as OCI, one converted to Docker schema 2: a list may mix them.
    for (const [tag, format] of [["amd64", "oci"], ["arm64", "v2s2"]] as const) {
      const copied = await skopeo([
        "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", "--format", format,
        `oci:${layout}:${tag}`, `docker://${serve.host}/docker/${tag}:1.0`,
      ]);
      if (copied.code !== 0) throw new Error(`skopeo copy failed: ${copied.stderr}`);
    }
    const amdDigest = (await manifestDigest(target, "docker/amd64", "1.0"))!;
    const armDigest = (await manifestDigest(target, "docker/arm64", "1.0"))!;
    const list = `${serve.host}/docker/list:1.0`;
    await mustDocker(["manifest", "create", "--insecure", list, `${serve.host}/docker/amd64:1.0`, `${serve.host}/docker/arm64:1.0`]);
    await mustDocker(["manifest", "annotate", "--os", "linux", "--arch", "arm64", "--variant", "v8", list, `${serve.host}/docker/arm64:1.0`]);
    const out = await mustDocker(["manifest", "push", "--insecure", "--purge", list]);
    const pushedDigest = /sha256:[0-9a-f]{64}\s*$/.exec(out.trim())?.[0];

    const pushed = await getManifest(target, "docker/list", "1.0");
    expect(pushed.digest).toBe(pushedDigest!);
    // Docker 28 writes an OCI index when a child is OCI (older clients a Docker list).
    expect([MediaType.ociIndex, MediaType.dockerManifestList] as string[]).toContain(pushed.mediaType);
    expect(pushed.json.mediaType).toBe(pushed.mediaType);
    const entries = (pushed.json.manifests ?? []).map((m) => ({ digest: m.digest, mediaType: m.mediaType, platform: m.platform }));
    expect(entries.sort((a, b) => a.digest.localeCompare(b.digest))).toEqual(
      [
        { digest: amdDigest, mediaType: MediaType.ociManifest, platform: { os: "linux", architecture: "amd64" } },
        { digest: armDigest, mediaType: MediaType.dockerManifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      ].sort((a, b) => a.digest.localeCompare(b.digest)),
    );
    // The client copied (mounted) every child and its blobs into the list's repository.
    await expectComplete(target, "docker/list", pushed.digest);
    // And reads the list back.
    const inspected = JSON.parse(await mustDocker(["manifest", "inspect", "--insecure", list]));
    expect(inspected.manifests.map((m: { digest: string }) => m.digest).sort()).toEqual([amdDigest, armDigest].sort());
  });

  test("without the stored credentials the registry refuses the client", async () => {
    const bare = join(work.path, "bare-config");
    const refused = await exec([requireTool("docker", DOCKER_INSTALL), "manifest", "inspect", "--insecure", `${serve.host}/given/multi:2.0`], {
      env: { DOCKER_CONFIG: bare },
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/no basic auth credentials|unauthorized|authentication required|401/i);
    // logout forgets them.
    await mustDocker(["logout", serve.host]);
    const config = JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8")) as { auths: Record<string, unknown> };
    expect(config.auths[serve.host]).toBeUndefined();
  });
});
