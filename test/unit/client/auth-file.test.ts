import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  authFilesToRead,
  dockerConfigPath,
  lookupCredentials,
  registryEndpoint,
  removeCredentials,
  storeCredentials,
} from "../../../src/client/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-auth-"));
  dirs.push(dir);
  return dir;
}
const b64 = (s: string) => Buffer.from(s).toString("base64");
const site = registryEndpoint("site.example:5000");

/** A docker-credential-NAME script that knows one secret and logs what it was asked. */
function fakeHelper(dir: string, name: string): string {
  const bin = join(dir, "bin");
  const script = join(bin, `docker-credential-${name}`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    script,
    `#!/bin/sh
read -r server
echo "$1 $server" >> "${join(dir, "helper.log")}"
case "$1:$server" in
  get:site.example:5000) echo '{"ServerURL":"site.example:5000","Username":"helper-user","Secret":"helper-pass"}' ;;
  get:tokens.example) echo '{"ServerURL":"tokens.example","Username":"<token>","Secret":"refresh"}' ;;
  get:*) echo "credentials not found in native keychain"; exit 1 ;;
  store:*|erase:*) cat > /dev/null ;;
esac
`,
  );
  chmodSync(script, 0o755);
  return bin;
}

describe("finding credentials", () => {
  test("docker config.json from $DOCKER_CONFIG, base64 auth", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { "site.example:5000": { auth: b64("me:p:w") } } }));
    expect(await lookupCredentials(site, { env: { DOCKER_CONFIG: dir } })).toEqual({ username: "me", password: "p:w" });
    expect(await lookupCredentials(registryEndpoint("other:5000"), { env: { DOCKER_CONFIG: dir } })).toBeUndefined();
  });

  test("keys written as URLs match; Docker Hub under its index URL", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ auths: { "https://site.example:5000/v2/": { auth: b64("a:b") }, "https://index.docker.io/v1/": { auth: b64("hub:x") } } }),
    );
    const env = { DOCKER_CONFIG: dir };
    expect(await lookupCredentials(site, { env })).toEqual({ username: "a", password: "b" });
    expect(await lookupCredentials(registryEndpoint("docker.io"), { env })).toEqual({ username: "hub", password: "x" });
  });

  test("podman's auth.json under $XDG_RUNTIME_DIR comes first, then docker's", async () => {
    const runtime = tempDir();
    const docker = tempDir();
    mkdirSync(join(runtime, "containers"));
    writeFileSync(join(runtime, "containers", "auth.json"), JSON.stringify({ auths: { "site.example:5000": { auth: b64("podman:1") } } }));
    writeFileSync(join(docker, "config.json"), JSON.stringify({ auths: { "site.example:5000": { auth: b64("docker:2") }, "b:1": { auth: b64("docker:3") } } }));
    const env = { XDG_RUNTIME_DIR: runtime, DOCKER_CONFIG: docker };
    expect(authFilesToRead(env)).toEqual([join(runtime, "containers", "auth.json"), join(docker, "config.json")]);
    expect(await lookupCredentials(site, { env })).toEqual({ username: "podman", password: "1" });
    expect(await lookupCredentials(registryEndpoint("b:1"), { env })).toEqual({ username: "docker", password: "3" });
    expect(authFilesToRead({ REGISTRY_AUTH_FILE: "/x/auth.json", HOME: "/home/u" })).toEqual(["/x/auth.json", "/home/u/.docker/config.json"]);
    expect(authFilesToRead(env, "/only/this.json")).toEqual(["/only/this.json"]);
  });

  test("identity tokens", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { "site.example:5000": { identitytoken: "rt" } } }));
    expect(await lookupCredentials(site, { env: { DOCKER_CONFIG: dir } })).toEqual({ identityToken: "rt" });
  });

  test("credHelpers and credsStore run docker-credential-NAME get", async () => {
    const dir = tempDir();
    const bin = fakeHelper(dir, "fake");
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
    writeFileSync(join(dir, "config.json"), JSON.stringify({ credHelpers: { "site.example:5000": "fake" } }));
    expect(await lookupCredentials(site, { env })).toEqual({ username: "helper-user", password: "helper-pass" });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ credsStore: "fake" }));
    expect(await lookupCredentials(registryEndpoint("tokens.example"), { env })).toEqual({ identityToken: "refresh" });
    expect(await lookupCredentials(registryEndpoint("unknown.example"), { env })).toBeUndefined();
    expect(readFileSync(join(dir, "helper.log"), "utf8").trim().split("\n")).toEqual(["get site.example:5000", "get tokens.example", "get unknown.example"]);
  });

  test("a broken file is a clear error naming it; a missing helper too", async () => {
    const dir = tempDir();
    await expect(lookupCredentials(site, { env: { DOCKER_CONFIG: dir }, authFile: join(dir, "missing.json") })).rejects.toThrow(
      `Credentials file ${join(dir, "missing.json")} does not exist`,
    );
    expect(await lookupCredentials(site, { env: { DOCKER_CONFIG: dir } })).toBeUndefined();
    writeFileSync(join(dir, "config.json"), "{ not json");
    expect(lookupCredentials(site, { env: { DOCKER_CONFIG: dir } })).rejects.toThrow(`Cannot read credentials file ${JSON.stringify(join(dir, "config.json"))}`);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ credsStore: "missing-helper-xyz" }));
    expect(lookupCredentials(site, { env: { DOCKER_CONFIG: dir, PATH: "/nonexistent" } })).rejects.toThrow("docker-credential-missing-helper-xyz");
  });
});

describe("storing credentials", () => {
  test("login writes base64 auth atomically, mode 0600, keeping other keys; logout removes it", async () => {
    const dir = tempDir();
    const path = dockerConfigPath({ DOCKER_CONFIG: dir });
    writeFileSync(path, JSON.stringify({ auths: { "other:1": { auth: b64("o:p") } }, proxies: { default: { httpProxy: "http://p:3128" } }, detachKeys: "ctrl-x" }));
    await storeCredentials(path, site, { username: "me", password: "pw" });
    const stored = JSON.parse(readFileSync(path, "utf8"));
    expect(stored).toEqual({
      auths: { "other:1": { auth: b64("o:p") }, "site.example:5000": { auth: b64("me:pw") } },
      proxies: { default: { httpProxy: "http://p:3128" } },
      detachKeys: "ctrl-x",
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await lookupCredentials(site, { env: { DOCKER_CONFIG: dir } })).toEqual({ username: "me", password: "pw" });
    expect(await removeCredentials(path, site)).toBe(true);
    expect(await removeCredentials(path, site)).toBe(false);
    expect(JSON.parse(readFileSync(path, "utf8")).auths).toEqual({ "other:1": { auth: b64("o:p") } });
  });

  test("creates the directory and file when missing", async () => {
    const dir = join(tempDir(), "new", ".docker");
    const path = dockerConfigPath({ DOCKER_CONFIG: dir });
    await storeCredentials(path, registryEndpoint("docker.io"), { username: "hub", password: "x" });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ auths: { "https://index.docker.io/v1/": { auth: b64("hub:x") } } });
    expect(await removeCredentials(join(dir, "absent.json"), site)).toBe(false);
  });

  test("with a credsStore, the secret goes to the helper and auths gets an empty marker", async () => {
    const dir = tempDir();
    const bin = fakeHelper(dir, "fake");
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({ credsStore: "fake" }));
    await storeCredentials(path, site, { username: "me", password: "pw" }, { env });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ credsStore: "fake", auths: { "site.example:5000": {} } });
    expect(await removeCredentials(path, site, { env })).toBe(true);
    expect(readFileSync(join(dir, "helper.log"), "utf8").trim().split("\n")).toEqual(["store {\"ServerURL\":\"site.example:5000\",\"Username\":\"me\",\"Secret\":\"pw\"}", "erase site.example:5000"]);
  });
});
