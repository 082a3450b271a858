/**
 * ls, tags, inspect, digest, exists, login, logout against a real CNCF
 * registry filled by skopeo; credentials written by stevedore are read by
 * skopeo and the other way round.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { generateImage, generateMultiArch, type GeneratedManifest } from "../../helpers/images.ts";
import { pushImages, skopeo } from "../../helpers/skopeo.ts";
import { runCli } from "../../unit/cli/run.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
let plain: DockerRegistry;
let secured: DockerRegistry;
let image: GeneratedManifest;
let multi: GeneratedManifest;
let home: string;

beforeAll(async () => {
  [plain, secured] = await Promise.all([startDockerRegistry(), startDockerRegistry({ auth: { username: "alice", password: "s3cret pass" } })]);
  image = await generateImage({ name: "i", seed: "cli-it", layers: 1 });
  multi = await generateMultiArch("m", { seed: "cli-it-multi" });
  await pushImages(plain.host, [
    { image, repository: "acme/app", tag: "1.0" },
    { image, repository: "acme/app", tag: "1.1" },
    { image: multi, repository: "library/multi", tag: "2.0" },
  ]);
  await pushImages(secured.host, [{ image, repository: "private/app", tag: "1" }], { creds: "alice:s3cret pass" });
  home = mkdtempSync(join(tmpdir(), "stevedore-cli-home-"));
});
afterAll(async () => {
  await Promise.all([plain?.stop(), secured?.stop()]);
  rmSync(home, { recursive: true, force: true });
});

const cli = (argv: string[], env: Record<string, string> = {}, stdin?: string) =>
  runCli(argv, { env: { PATH: process.env.PATH, HOME: home, ...env }, ...(stdin !== undefined ? { stdin } : {}) });

describe("querying a registry", () => {
  test("ls and tags", async () => {
    expect(await cli(["ls", plain.host])).toEqual({ code: 0, stdout: "acme/app\nlibrary/multi\n", stderr: "" });
    expect(await cli(["ls", "--json", `docker://${plain.host}`])).toEqual({ code: 0, stdout: '["acme/app","library/multi"]\n', stderr: "" });
    expect(await cli(["tags", `${plain.host}/acme/app`])).toEqual({ code: 0, stdout: "1.0\n1.1\n", stderr: "" });
    const missing = await cli(["tags", `${plain.host}/nobody`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("NAME_UNKNOWN");
  });

  test("digest and exists", async () => {
    expect(await cli(["digest", `${plain.host}/acme/app:1.0`])).toEqual({ code: 0, stdout: `${image.descriptor.digest}\n`, stderr: "" });
    const arm = multi.children.find((c) => c.descriptor.platform?.architecture === "arm64")!;
    expect((await cli(["digest", "--platform", "linux/arm64", `${plain.host}/library/multi:2.0`])).stdout).toBe(`${arm.descriptor.digest}\n`);
    expect(await cli(["exists", `${plain.host}/acme/app:1.0`])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await cli(["exists", `${plain.host}/acme/app@${image.descriptor.digest}`])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await cli(["exists", `${plain.host}/acme/app:9`])).toEqual({ code: 1, stdout: "", stderr: "" });
    expect(await cli(["exists", `${plain.host}/nobody/here:1`])).toEqual({ code: 1, stdout: "", stderr: "" });
    expect((await cli(["exists", "Not A Ref"])).code).toBe(2);
    const denied = await cli(["exists", `${secured.host}/private/app:1`]);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toContain(`stevedore: cannot tell whether ${secured.host}/private/app:1 exists: UNAUTHORIZED`);
  });

  test("inspect: manifest, raw bytes, config, platforms of an index", async () => {
    const pretty = await cli(["inspect", `${plain.host}/acme/app:1.0`]);
    expect(pretty.code).toBe(0);
    expect(JSON.parse(pretty.stdout)).toEqual(JSON.parse(new TextDecoder().decode(image.bytes)));
    expect(pretty.stdout).toContain('\n  "schemaVersion": 2');
    expect((await cli(["inspect", "--raw", `${plain.host}/acme/app:1.0`])).stdout).toBe(new TextDecoder().decode(image.bytes));
    const config = await cli(["inspect", "--config", `${plain.host}/acme/app:1.0`]);
    expect(JSON.parse(config.stdout)).toEqual(JSON.parse(new TextDecoder().decode(image.blobs[0]!.bytes)));
    const platforms = await cli(["inspect", `${plain.host}/library/multi:2.0`]);
    expect(platforms.stdout).toBe(multi.children.map((c) => `${c.descriptor.platform!.os}/${c.descriptor.platform!.architecture}${c.descriptor.platform!.variant ? `/${c.descriptor.platform!.variant}` : ""}\t${c.descriptor.digest}\t${c.descriptor.mediaType}\n`).join(""));
    const armConfig = await cli(["inspect", "--config", "--platform", "linux/arm64", `${plain.host}/library/multi:2.0`]);
    expect(JSON.parse(armConfig.stdout).architecture).toBe("arm64");
    const noSuch = await cli(["inspect", "--platform", "linux/s390x", `${plain.host}/library/multi:2.0`]);
    expect(noSuch).toEqual({ code: 1, stdout: "", stderr: `stevedore: ${plain.host}/library/multi:2.0 has no image for linux/s390x; it offers linux/amd64, linux/arm64/v8\n` });
    expect((await cli(["inspect", "--raw", "--config", `${plain.host}/acme/app:1.0`])).code).toBe(2);
  });

  test("an unreachable registry is one clear line", async () => {
    const result = await cli(["ls", "127.0.0.1:1", "--insecure"]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "stevedore: UNAVAILABLE: Cannot reach registry 127.0.0.1:1: connection refused\n" });
  });
});

describe("login and logout", () => {
  test("stevedore login stores what skopeo reads; logout removes it", async () => {
    const config = mkdtempSync(join(tmpdir(), "stevedore-dockercfg-"));
    try {
      writeFileSync(join(config, "config.json"), JSON.stringify({ auths: { "other.example": { auth: "eDp5" } }, psFormat: "table" }));
      const env = { DOCKER_CONFIG: config };
      const wrong = await cli(["login", secured.host, "-u", "alice", "--password-stdin"], env, "wrong\n");
      expect(wrong).toEqual({ code: 1, stdout: "", stderr: `stevedore: login to ${secured.host} failed: the registry refused the credentials of "alice"\n` });
      expect(JSON.parse(readFileSync(join(config, "config.json"), "utf8")).auths[secured.host]).toBeUndefined();

      // Through the real binary entry point, password on real standard input.
      const child = Bun.spawn([process.execPath, MAIN, "login", secured.host, "-u", "alice", "--password-stdin"], {
        stdin: new TextEncoder().encode("s3cret pass\n"),
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, DOCKER_CONFIG: config, HOME: home },
      });
      expect([await new Response(child.stdout).text(), await new Response(child.stderr).text(), await child.exited]).toEqual(["Login Succeeded\n", "", 0]);
      const stored = JSON.parse(readFileSync(join(config, "config.json"), "utf8"));
      expect(stored).toEqual({
        auths: { "other.example": { auth: "eDp5" }, [secured.host]: { auth: Buffer.from("alice:s3cret pass").toString("base64") } },
        psFormat: "table",
      });
      expect(statSync(join(config, "config.json")).mode & 0o777).toBe(0o600);

      // skopeo finds the credentials in the same file.
      const inspected = await skopeo(["inspect", "--tls-verify=false", "--authfile", join(config, "config.json"), `docker://${secured.host}/private/app:1`]);
      expect(inspected.stderr).toBe("");
      expect(JSON.parse(inspected.stdout).Digest).toBe(image.descriptor.digest);
      // And so does every stevedore command.
      expect(await cli(["tags", `${secured.host}/private/app`], env)).toEqual({ code: 0, stdout: "1\n", stderr: "" });

      expect(await cli(["logout", secured.host], env)).toEqual({ code: 0, stdout: `Removed login credentials for ${secured.host}\n`, stderr: "" });
      expect(await cli(["logout", secured.host], env)).toEqual({ code: 0, stdout: `Not logged in to ${secured.host}\n`, stderr: "" });
      expect(JSON.parse(readFileSync(join(config, "config.json"), "utf8"))).toEqual({ auths: { "other.example": { auth: "eDp5" } }, psFormat: "table" });
      expect((await cli(["tags", `${secured.host}/private/app`], env)).code).toBe(1);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  test("skopeo login writes what stevedore reads (auth.json and --authfile)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stevedore-skopeo-auth-"));
    try {
      const authfile = join(dir, "auth.json");
      const login = await skopeo(["login", "--tls-verify=false", "--authfile", authfile, "-u", "alice", "-p", "s3cret pass", secured.host]);
      expect(login.code).toBe(0);
      expect(await cli(["tags", "--authfile", authfile, `${secured.host}/private/app`])).toEqual({ code: 0, stdout: "1\n", stderr: "" });
      expect(await cli(["tags", `${secured.host}/private/app`], { REGISTRY_AUTH_FILE: authfile })).toEqual({ code: 0, stdout: "1\n", stderr: "" });
      expect((await cli(["digest", `${secured.host}/private/app:1`], { DOCKER_CONFIG: dir })).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--creds works without any stored login", async () => {
    expect(await cli(["digest", "--creds", "alice:s3cret pass", `${secured.host}/private/app:1`])).toEqual({ code: 0, stdout: `${image.descriptor.digest}\n`, stderr: "" });
  });
});
