/** Usage errors of the registry commands and the shared registry flags: exit 2, one line, nothing contacted. */
import { expect, test } from "bun:test";
import { UsageError } from "../../../src/cli/command.ts";
import { parseImageArgument, parseRegistryArgument } from "../../../src/cli/image-argument.ts";
import { registryOptions } from "../../../src/cli/registry-flags.ts";
import { runCli } from "./run.ts";

// An empty standard input: nothing waits on the test process's own.
const cli = (...argv: string[]) => runCli(argv, { stdin: "" });

test.each([
  [["ls"], "ls: expected one REGISTRY"],
  [["ls", "a b"], 'Invalid registry "a b": expected host[:port], e.g. localhost:5000'],
  [["tags", "site:5000/app:1"], 'tags: expected a repository without tag or digest, got "site:5000/app:1"'],
  [["inspect", "x", "y"], "inspect: expected one IMAGE"],
  [["inspect", "--platform", "linux", "site:5000/app"], 'Invalid platform "linux": expected os/arch[/variant], e.g. linux/amd64'],
  [["digest", "site:5000/App"], 'invalid image "site:5000/App": the path "App" has uppercase letters'],
  [["exists", "--cert", "c.pem", "site:5000/app"], "--cert and --key go together"],
  [["exists", "--creds", "nopass", "site:5000/app"], "--creds: Invalid credentials: expected USER:PASSWORD"],
  [["exists", "--bogus", "site:5000/app"], "exists: unknown option '--bogus'"],
  [["login", "site:5000"], "login: a user name is needed (-u USER)"],
  [["login", "site:5000", "-u", "me"], "login: give the password with --password-stdin (or -p)"],
  [["login", "site:5000", "-u", "me", "--password-stdin"], "login: the password is empty"],
  [["login", "site:5000", "-u", "me", "-p", "x", "--password-stdin"], "login: --password and --password-stdin exclude each other"],
  [["logout"], "logout: expected one REGISTRY"],
])("%j is a usage error", async (argv, message) => {
  const result = await cli(...argv);
  expect({ ...result, stderr: result.stderr.replace(/ \(see 'stevedore[^']*--help'\)\n$/, "") }).toEqual({ code: 2, stdout: "", stderr: `stevedore: ${message}` });
});

test("every registry command has help that lists the shared flags", async () => {
  for (const name of ["ls", "tags", "inspect", "digest", "exists", "login"]) {
    const result = await cli(name, "--help");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: stevedore ${name}`);
    expect(result.stdout).toContain("--insecure");
  }
  expect((await cli("logout", "--help")).stdout).toContain("--authfile");
});

test("registry flags become client options", async () => {
  const ctx = { env: { HOME: "/h" }, signal: new AbortController().signal, stdin: new Blob(["pw\n"]).stream() };
  expect(await registryOptions({ creds: "u:p:w", insecure: true, "ca-cert": "ca.pem", cert: "c", key: "k", "certs-dir": ["/d"], authfile: "/a.json" }, ctx)).toEqual({
    credentials: { username: "u", password: "p:w" },
    authFile: "/a.json",
    insecure: true,
    caCert: "ca.pem",
    clientCert: "c",
    clientKey: "k",
    certDirs: ["/d"],
    env: ctx.env,
    signal: ctx.signal,
  });
  expect(await registryOptions({}, ctx)).toEqual({ env: ctx.env, signal: ctx.signal });
  expect(await registryOptions({ username: "u", "password-stdin": true }, ctx)).toEqual({ credentials: { username: "u", password: "pw" }, env: ctx.env, signal: ctx.signal });
  await expect(registryOptions({ key: "k" }, ctx)).rejects.toThrow(UsageError);
});

test("image and registry arguments", () => {
  expect(parseImageArgument("nginx")).toMatchObject({ registry: "docker.io", repository: "library/nginx", reference: "latest" });
  expect(parseImageArgument("docker://site:5000/a/b:2")).toMatchObject({ registry: "site:5000", repository: "a/b", reference: "2" });
  const digest = `sha256:${"0".repeat(64)}`;
  expect(parseImageArgument(`localhost:5000/app:1@${digest}`).reference).toBe(digest);
  expect(parseImageArgument("site:5000/app", { defaultTag: false }).reference).toBe("");
  expect(parseRegistryArgument("http://Site:5000/")).toEqual({ address: "http://Site:5000/", registry: "site:5000" });
  expect(parseRegistryArgument("index.docker.io").registry).toBe("docker.io");
});
