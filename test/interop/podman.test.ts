/**
 * podman against the real `stevedore serve`: images we generate go in
 * through an OCI layout (or straight through the API), are pushed as OCI and as
 * Docker schema 2, pulled back by tag and by digest; a multi-arch list is
 * assembled with `podman manifest` and pushed with --all; login against
 * an htpasswd-protected registry, then push. Storage, configuration and
 * the auth file live in a temp dir; nothing needs a daemon.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MediaType } from "../../src/oci/index.ts";
import { generateImage, generateLayer, generateMultiArch, type GeneratedManifest, writeOciLayout } from "../helpers/images.ts";
import { run, type RunningServe, startServe } from "../helpers/stevedore-serve.ts";
import { expectComplete, getManifest, manifestDigest, pushGenerated, serverFaults, type Target } from "./registry-api.ts";
import { containersSandbox, exec, mustExec, requireTool, tempDir } from "./tools.ts";

const work = tempDir("podman");
const sandbox = containersSandbox(join(work.path, "c"));
let serve: RunningServe;
let target: Target;
let app: GeneratedManifest;
let multi: GeneratedManifest;
const layout = join(work.path, "layout");

beforeAll(async () => {
  serve = await startServe();
  target = { url: serve.url };
  const base = await generateLayer({ seed: "podman/base", size: 200_000 });
  app = await generateImage({ name: "x:1.0", seed: "podman/app", baseLayers: [base], layers: 2, layerSize: 50_000 });
  multi = await generateMultiArch("x:multi", { seed: "podman/multi", baseLayers: [base] });
  await writeOciLayout(layout, [app, multi], { refName: "tag" });
  // Byte for byte through the API (a client may rewrite manifests on copy).
  await pushGenerated(target, "given/app", "1.0", app);
  await pushGenerated(target, "given/multi", "2.0", multi);
});
afterAll(async () => {
  try {
    // No request a well-behaved client made may have been a server fault.
    expect(serverFaults(serve.log())).toEqual([]);
    expect(await serve.stop()).toBe(0);
  } finally {
    work.remove();
  }
});

/** podman with the sandboxed storage and configuration; throws with the registry log on failure. */
function podman(args: string[], options: { stdin?: string; on?: RunningServe } = {}): Promise<string> {
  const bin = requireTool("podman");
  const on = options.on ?? serve;
  return mustExec([bin, ...sandbox.storageFlags, ...args], { env: sandbox.env, stdin: options.stdin, context: () => on.log() });
}

/** The image ID (config digest, hex) podman stored for a reference. */
async function imageId(reference: string): Promise<string> {
  return (await podman(["image", "inspect", "--format", "{{.Id}}", reference])).trim();
}

/** The `repo@digest` names podman recorded for an image (every digest it was pulled or pushed by). */
async function repoDigests(reference: string): Promise<string[]> {
  return JSON.parse(await podman(["image", "inspect", "--format", "{{json .RepoDigests}}", reference])) as string[];
}

const configHex = (image: GeneratedManifest) => image.blobs[0]!.descriptor.digest.slice("sha256:".length);

describe("podman", () => {
  test("pushes an image loaded from an OCI layout as OCI and as Docker schema 2, and pulls both back", async () => {
    await podman(["pull", "--signature-policy", sandbox.policy, `oci:${layout}:1.0`]);
    const local = `${serve.host}/podman/app`;
    await podman(["tag", configHex(app), `${local}:oci`]);

    const pushed: Record<string, string> = {};
    for (const format of ["oci", "v2s2"] as const) {
      const digestFile = join(work.path, `digest-${format}`);
      await podman([
        "push", "--tls-verify=false", "--signature-policy", sandbox.policy, "--format", format, "--digestfile", digestFile,
        `${local}:oci`, `docker://${local}:${format}`,
      ]);
      pushed[format] = readFileSync(digestFile, "utf8").trim();
      // The registry holds exactly what podman says it pushed, in the format asked for.
      const m = await getManifest(target, "podman/app", format);
      expect(m.digest).toBe(pushed[format]!);
      expect(m.mediaType).toBe(format === "oci" ? MediaType.ociManifest : MediaType.dockerManifest);
      // The config is carried over byte for byte: the image keeps its ID.
      expect(m.json.config?.digest).toBe(app.blobs[0]!.descriptor.digest);
      expect(m.json.layers).toHaveLength(app.blobs.length - 1);
      await expectComplete(target, "podman/app", m.digest);
    }
    expect(pushed.oci).not.toBe(pushed.v2s2);

    await podman(["rmi", "--all", "--force"]);
    for (const format of ["oci", "v2s2"]) {
      await podman(["pull", "--tls-verify=false", "--signature-policy", sandbox.policy, `${local}:${format}`]);
      expect(await imageId(`${local}:${format}`)).toBe(configHex(app));
      expect(await repoDigests(`${local}:${format}`)).toContain(`${local}@${pushed[format]}`);
    }
    // And by digest.
    await podman(["rmi", "--all", "--force"]);
    await podman(["pull", "--tls-verify=false", "--signature-policy", sandbox.policy, `${local}@${pushed.oci}`]);
    expect(await imageId(`${local}@${pushed.oci}`)).toBe(configHex(app));
  });

  test("pulls images pushed as generated, by tag and by digest, digests intact", async () => {
    await podman(["rmi", "--all", "--force"]);
    await podman(["pull", "--tls-verify=false", "--signature-policy", sandbox.policy, `${serve.host}/given/app:1.0`]);
    expect(await repoDigests(`${serve.host}/given/app:1.0`)).toContain(`${serve.host}/given/app@${app.descriptor.digest}`);
    expect(await imageId(`${serve.host}/given/app:1.0`)).toBe(configHex(app));
    // By digest, which podman checks against the bytes it receives.
    const arm = multi.children[1]!;
    await podman(["pull", "--tls-verify=false", "--signature-policy", sandbox.policy, `${serve.host}/given/multi@${arm.descriptor.digest}`]);
    expect(await imageId(`${serve.host}/given/multi@${arm.descriptor.digest}`)).toBe(configHex(arm));
  });

  test("assembles a multi-arch list with podman manifest and pushes it with --all", async () => {
    const list = `${serve.host}/podman/list:2.0`;
    await podman(["manifest", "create", list]);
    await podman(["manifest", "add", "--all", "--tls-verify=false", list, `docker://${serve.host}/given/multi:2.0`]);
    await podman(["manifest", "push", "--all", "--tls-verify=false", list, `docker://${list}`]);

    const pushed = await getManifest(target, "podman/list", "2.0");
    expect([MediaType.ociIndex, MediaType.dockerManifestList] as string[]).toContain(pushed.mediaType);
    // One child per platform, each with its own image's config. (podman may
    // swap a layer for a copy it already pushed in another compression, which
    // rewrites a child manifest; a config it cannot change.)
    expect(pushed.json.manifests?.map((m) => m.platform)).toEqual(multi.children.map((c) => c.descriptor.platform));
    for (const [i, entry] of (pushed.json.manifests ?? []).entries()) {
      const child = await getManifest(target, "podman/list", entry.digest);
      expect(child.json.config?.digest).toBe(multi.children[i]!.blobs[0]!.descriptor.digest);
    }
    await expectComplete(target, "podman/list", pushed.digest);

    // A pull for one platform picks that platform's image out of the list.
    const arm = multi.children.find((c) => c.descriptor.platform?.architecture === "arm64")!;
    await podman(["pull", "--tls-verify=false", "--signature-policy", sandbox.policy, "--arch", "arm64", "--variant", "v8", list]);
    expect(await imageId(list)).toBe(configHex(arm));
  });

  test("search lists repositories from the catalog; --list-tags lists a repository's tags", async () => {
    const found = await podman(["search", "--tls-verify=false", "--format", "{{.Name}}", `${serve.host}/given`]);
    expect(found.trim().split("\n")).toEqual([`${serve.host}/given/app`, `${serve.host}/given/multi`]);
    // (podman 4 prints the tag table whatever --format says: NAME and TAG columns.)
    const tags = await podman(["search", "--tls-verify=false", "--list-tags", `${serve.host}/podman/app`]);
    expect(tags.trim().split("\n").slice(1).map((line) => line.trim().split(/\s+/))).toEqual([
      [`${serve.host}/podman/app`, "oci"],
      [`${serve.host}/podman/app`, "v2s2"],
    ]);
  });

  test("logs in to an htpasswd-protected registry and pushes; a wrong password and no login are refused", async () => {
    const htpasswd = join(work.path, "htpasswd");
    writeFileSync(htpasswd, await run(["htpasswd", "-Bbn", "alice", "s3cret"]));
    await using secured = await startServe({ args: ["--htpasswd", htpasswd] });
    const bin = requireTool("podman");
    const authFile = join(work.path, "login.json");
    const noAuth = join(work.path, "none.json");
    for (const file of [authFile, noAuth]) writeFileSync(file, JSON.stringify({ auths: {} }));
    const login = (password: string) =>
      exec([bin, ...sandbox.storageFlags, "login", "--tls-verify=false", "--authfile", authFile, "-u", "alice", "--password-stdin", secured.host], {
        env: sandbox.env,
        stdin: password,
      });

    const wrong = await login("nope");
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/invalid username\/password|unauthorized/i);

    const local = `${secured.host}/private/app:1.0`;
    await podman(["pull", "--signature-policy", sandbox.policy, `oci:${layout}:1.0`]);
    await podman(["tag", configHex(app), local]);
    const anonymous = await exec(
      [bin, ...sandbox.storageFlags, "push", "--tls-verify=false", "--signature-policy", sandbox.policy, "--authfile", noAuth, local],
      { env: sandbox.env },
    );
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required/i);

    const ok = await login("s3cret");
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toContain("Login Succeeded");
    const digestFile = join(work.path, "digest-private");
    await podman(
      ["push", "--tls-verify=false", "--signature-policy", sandbox.policy, "--authfile", authFile, "--digestfile", digestFile, local],
      { on: secured },
    );
    const creds = { url: secured.url, auth: { username: "alice", password: "s3cret" } };
    expect(await manifestDigest(creds, "private/app", "1.0")).toBe(readFileSync(digestFile, "utf8").trim());
    await expectComplete(creds, "private/app", readFileSync(digestFile, "utf8").trim());
    expect(serverFaults(secured.log())).toEqual([]);
  });
});
