/**
 * containerd's `ctr` against the real `stevedore serve`. The test starts its
 * own containerd (temp root, state and socket; the CRI plugin off; native
 * snapshotter) and stops it at the end. Pulls over plain HTTP (an image, a
 * multi-arch index with --all-platforms, by tag and by digest), pushes back
 * into other repositories, TLS through a --hosts-dir naming our CA, and
 * basic auth with --user.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { generateImage, generateLayer, generateMultiArch, type GeneratedManifest } from "../helpers/images.ts";
import { run, type RunningServe, selfSignedCertificate, startServe } from "../helpers/stevedore-serve.ts";
import { expectComplete, manifestDigest, pushGenerated, serverFaults, type Target } from "./registry-api.ts";
import { exec, execBytes, mustExec, requireTool, tempDir } from "./tools.ts";

const work = tempDir("containerd");
const socket = join(work.path, "containerd.sock");
let containerd: Subprocess<"ignore", "ignore", "pipe"> | undefined;
let containerdLog = "";
let plain: RunningServe;
let secure: RunningServe;
let locked: RunningServe;
let ca: string;
let app: GeneratedManifest;
let multi: GeneratedManifest;

/** Start containerd on a private root and socket; resolves once it has booted. */
async function startContainerd(): Promise<void> {
  const bin = requireTool("containerd");
  const config = join(work.path, "config.toml");
  writeFileSync(
    config,
    [
      "version = 2",
      `root = "${join(work.path, "root")}"`,
      `state = "${join(work.path, "state")}"`,
      // No Kubernetes here; the CRI plugin would want a CNI setup.
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      "[debug]",
      `  address = "${join(work.path, "debug.sock")}"`,
      "[metrics]",
      `  address = ""`,
    ].join("\n"),
  );
  const child = Bun.spawn([bin, "--config", config], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  containerd = child;
  const booted = Promise.withResolvers<void>();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      containerdLog += decoder.decode(chunk, { stream: true });
      if (containerdLog.includes("containerd successfully booted")) booted.resolve();
    }
    booted.reject(new Error(`containerd exited before it booted:\n${containerdLog.slice(-3000)}`));
  })();
  const timer = setTimeout(() => booted.reject(new Error(`containerd did not boot in 20s:\n${containerdLog.slice(-3000)}`)), 20_000);
  try {
    await booted.promise;
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  const base = await generateLayer({ seed: "ctr/base", size: 200_000 });
  app = await generateImage({ name: "x:1.0", seed: "ctr/app", baseLayers: [base], layers: 2, layerSize: 40_000 });
  multi = await generateMultiArch("x:multi", { seed: "ctr/multi", baseLayers: [base] });
  const { cert, key } = await selfSignedCertificate(work.path);
  ca = cert;
  const htpasswd = join(work.path, "htpasswd");
  writeFileSync(htpasswd, await run(["htpasswd", "-Bbn", "alice", "s3cret"]));
  [plain, secure, locked] = await Promise.all([
    startServe(),
    startServe({ args: ["--tls-cert", cert, "--tls-key", key] }),
    startServe({ args: ["--htpasswd", htpasswd] }),
  ]);
  await pushGenerated({ url: plain.url }, "given/app", "1.0", app);
  await pushGenerated({ url: plain.url }, "given/multi", "2.0", multi);
  await startContainerd();
});
afterAll(async () => {
  try {
    for (const s of [plain, secure, locked]) {
      if (!s) continue;
      expect(serverFaults(s.log())).toEqual([]);
      expect(await s.stop()).toBe(0);
    }
  } finally {
    if (containerd) {
      containerd.kill("SIGTERM");
      await containerd.exited;
    }
    work.remove();
  }
});

const ctrCommand = (args: string[]) => [requireTool("ctr", "apt-get install containerd"), "--address", socket, ...args];

/** ctr on our containerd; throws with the registries' logs on failure. */
function ctr(args: string[]): Promise<string> {
  return mustExec(ctrCommand(args), {
    context: () => [plain, secure, locked].map((s) => s?.log().slice(-1500) ?? "").join("\n---\n"),
  });
}

/** `ctr images ls`, as { ref: { digest, type, platforms } }. */
async function images(): Promise<Record<string, { type: string; digest: string; platforms: string }>> {
  const out = await ctr(["images", "ls"]);
  const rows: Record<string, { type: string; digest: string; platforms: string }> = {};
  for (const line of out.split("\n").slice(1)) {
    const [ref, type, digest, , , platforms] = line.trim().split(/\s+/);
    if (ref && type && digest) rows[ref] = { type, digest, platforms: platforms ?? "" };
  }
  return rows;
}

describe("ctr over plain HTTP", () => {
  test("pulls an image and a multi-arch index (all platforms), by tag and by digest, byte for byte", async () => {
    const appRef = `${plain.host}/given/app:1.0`;
    const multiRef = `${plain.host}/given/multi:2.0`;
    await ctr(["images", "pull", "--plain-http", "--snapshotter", "native", appRef]);
    await ctr(["images", "pull", "--plain-http", "--snapshotter", "native", "--all-platforms", multiRef]);
    const arm = multi.children[1]!;
    const byDigest = `${plain.host}/given/multi@${arm.descriptor.digest}`;
    await ctr(["images", "pull", "--plain-http", "--snapshotter", "native", byDigest]);

    const listed = await images();
    expect(listed[appRef]).toEqual({ type: app.descriptor.mediaType, digest: app.descriptor.digest, platforms: "linux/amd64" });
    expect(listed[multiRef]).toEqual({ type: multi.descriptor.mediaType, digest: multi.descriptor.digest, platforms: "linux/amd64,linux/arm64/v8" });
    expect(listed[byDigest]?.digest).toBe(arm.descriptor.digest);
    // containerd verified every digest as it fetched; the content store holds our bytes.
    for (const blob of [...app.blobs, ...arm.blobs]) {
      const bytes = await execBytes(ctrCommand(["content", "get", blob.descriptor.digest]));
      expect(Buffer.compare(bytes, blob.bytes)).toBe(0);
    }
    const check = await ctr(["images", "check"]);
    for (const ref of [appRef, multiRef, byDigest]) {
      const row = check.split("\n").find((line) => line.startsWith(`${ref} `));
      expect(row).toMatch(/\scomplete\s/);
    }
  });

  test("pushes images back into other repositories; the registry holds the same digests", async () => {
    await ctr(["images", "tag", `${plain.host}/given/multi:2.0`, `${plain.host}/ctr/multi:2.0`]);
    await ctr(["images", "tag", `${plain.host}/given/app:1.0`, `${plain.host}/ctr/app:1.0`]);
    await ctr(["images", "push", "--plain-http", `${plain.host}/ctr/multi:2.0`]);
    await ctr(["images", "push", "--plain-http", `${plain.host}/ctr/app:1.0`]);
    const target: Target = { url: plain.url };
    expect(await manifestDigest(target, "ctr/multi", "2.0")).toBe(multi.descriptor.digest);
    expect(await manifestDigest(target, "ctr/app", "1.0")).toBe(app.descriptor.digest);
    await expectComplete(target, "ctr/multi", multi.descriptor.digest);
    await expectComplete(target, "ctr/app", app.descriptor.digest);
  });
});

describe("ctr over TLS and with basic auth", () => {
  test("trusts the registry's certificate through a --hosts-dir with our CA; without it, refuses", async () => {
    const hostsDir = join(work.path, "hosts.d");
    mkdirSync(join(hostsDir, secure.host), { recursive: true });
    writeFileSync(
      join(hostsDir, secure.host, "hosts.toml"),
      `server = "${secure.url}"\n\n[host."${secure.url}"]\n  ca = "${ca}"\n`,
    );
    const ref = `${secure.host}/tls/multi:2.0`;
    await ctr(["images", "tag", `${plain.host}/given/multi:2.0`, ref]);
    await ctr(["images", "push", "--hosts-dir", hostsDir, ref]);
    expect(await manifestDigest({ url: secure.url, ca }, "tls/multi", "2.0")).toBe(multi.descriptor.digest);
    await ctr(["images", "rm", ref]);
    await ctr(["images", "pull", "--hosts-dir", hostsDir, "--snapshotter", "native", "--all-platforms", ref]);
    expect((await images())[ref]?.digest).toBe(multi.descriptor.digest);

    const untrusted = join(work.path, "hosts-untrusted.d");
    mkdirSync(join(untrusted, secure.host), { recursive: true });
    writeFileSync(
      join(untrusted, secure.host, "hosts.toml"),
      `server = "${secure.url}"\n\n[host."${secure.url}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const refused = await exec(ctrCommand(["images", "pull", "--hosts-dir", untrusted, `${secure.host}/tls/multi:2.0`]));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/certificate|x509/i);
  });

  test("pushes and pulls with --user against an htpasswd registry; a wrong password is refused", async () => {
    const ref = `${locked.host}/private/app:1.0`;
    await ctr(["images", "tag", `${plain.host}/given/app:1.0`, ref]);
    await ctr(["images", "push", "--plain-http", "--user", "alice:s3cret", ref]);
    const creds: Target = { url: locked.url, auth: { username: "alice", password: "s3cret" } };
    expect(await manifestDigest(creds, "private/app", "1.0")).toBe(app.descriptor.digest);
    await expectComplete(creds, "private/app", app.descriptor.digest);

    await ctr(["images", "rm", ref]);
    const wrong = await exec(ctrCommand(["images", "pull", "--plain-http", "--user", "alice:nope", ref]));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/401|unauthorized/i);
    await ctr(["images", "pull", "--plain-http", "--user", "alice:s3cret", "--snapshotter", "native", ref]);
    expect((await images())[ref]?.digest).toBe(app.descriptor.digest);
  });
});
