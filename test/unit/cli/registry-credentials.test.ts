/**
 * Credentials on the command line of every registry command: --creds,
 * --username with --password-stdin (standard input read once), and for
 * sync and push --src-creds / --dest-creds, one per end.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRegistry } from "../../../src/transports/remote/index.ts";
import { pushTree } from "../../helpers/home-contract.ts";
import { generateImage } from "../../helpers/images.ts";
import { miniRegistry } from "../client/mini-registry.ts";
import { runCli } from "./run.ts";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** A registry holding acme/app:1.0 that answers only `user:password`, and the Authorization headers it saw. */
async function guardedRegistry(user: string, password: string, withImage = true) {
  const registry = miniRegistry();
  if (withImage) {
    const home = openRegistry(registry.host, { certDirs: [], env: {} });
    await pushTree(home, "acme/app", await generateImage({ name: "docker.io/acme/app:1.0", seed: "creds" }), "1.0");
    home.client.close();
  }
  const seen = new Set<string>();
  registry.fault((request) => {
    const authorization = request.headers.get("authorization");
    if (authorization) seen.add(authorization);
    if (authorization === basic(user, password)) return undefined;
    return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
      status: 401,
      headers: { "content-type": "application/json", "www-authenticate": 'Basic realm="test"' },
    });
  });
  return Object.assign(registry, { seen });
}

/** Run the CLI with `stdin` as standard input, counting whether the command read it. */
async function cli(argv: string[], stdin = "") {
  let reads = 0;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      reads++;
      if (stdin) controller.enqueue(new TextEncoder().encode(stdin));
      controller.close();
    },
  });
  return { ...(await runCli(argv, { stdin: input })), reads };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stevedore-creds-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = () => join(dir, String(counter++));

describe("--username with --password-stdin", () => {
  test("every registry command takes the password from standard input, read once", async () => {
    using registry = await guardedRegistry("me", "s3cret: with spaces");
    const host = registry.host;
    const commands: [string[], number][] = [
      [["ls", host], 0],
      [["tags", `${host}/acme/app`], 0],
      [["inspect", `${host}/acme/app:1.0`], 0],
      [["digest", `${host}/acme/app:1.0`], 0],
      [["exists", `${host}/acme/app:1.0`], 0],
      [["sync", `${host}/acme`, `oci:${fresh()}`], 0],
      [["push", `docker://${host}/acme/app:1.0`, `${host}/copy`], 0],
      [["bundle", "create", `${host}/acme/app:1.0`, "-o", `${fresh()}.tar`], 0],
      [["export", `docker://${host}/acme/app:1.0`, "-o", `${fresh()}.tar`, "--platform", "linux/amd64"], 0],
    ];
    for (const [argv, code] of commands) {
      registry.seen.clear();
      const result = await cli([...argv, "--username", "me", "--password-stdin"], "s3cret: with spaces\n");
      expect({ argv, code: result.code, stderr: result.stderr, reads: result.reads }).toEqual({ argv, code, stderr: expect.any(String), reads: 1 });
      expect({ argv, seen: [...registry.seen] }).toEqual({ argv, seen: [basic("me", "s3cret: with spaces")] });
    }
    // -u is short for --username; --creds still works the same.
    expect((await cli(["ls", host, "-u", "me", "--password-stdin"], "s3cret: with spaces")).code).toBe(0);
    expect((await cli(["ls", host, "--creds", "me:s3cret: with spaces"])).code).toBe(0);
    // Without credentials the registry refuses.
    const anonymous = await cli(["ls", host]);
    expect(anonymous.code).toBe(1);
  });

  test.each([
    [["ls", "site:5000", "--password-stdin"], "pw", "--password-stdin needs --username USER"],
    [["ls", "site:5000", "-u", "me"], "pw", "--username goes with --password-stdin (or use --creds USER:PASS)"],
    [["tags", "site:5000/app", "-u", "me", "--password-stdin", "--creds", "a:b"], "pw", "--creds and --username exclude each other"],
    [["inspect", "site:5000/app:1", "-u", "", "--password-stdin"], "pw", "--username needs a value"],
    [["digest", "site:5000/app:1", "-u", "me", "--password-stdin"], "", "--password-stdin: standard input is empty; pipe the password in, as in: stevedore ... --password-stdin < FILE"],
    [["exists", "site:5000/app:1", "-u", "me", "--password-stdin"], "\n", "--password-stdin: standard input is empty; pipe the password in, as in: stevedore ... --password-stdin < FILE"],
    [["sync", "site:5000/app", "oci:x", "--src-creds", "nopass"], "", "--src-creds: Invalid credentials: expected USER:PASSWORD"],
    [["push", "oci:x:1", "site:5000", "--dest-creds", ":p"], "", "--dest-creds: Invalid credentials: expected USER:PASSWORD"],
    [["sync", "a:1/x", "b:2", "--src-creds", "a:1", "--dest-creds", "b:2", "--creds", "c:3"], "", "--creds applies to neither end when --src-creds and --dest-creds are both given"],
    [["sync", "a:1/x", "b:2", "--src-creds", "a:1", "--dest-creds", "b:2", "-u", "c", "--password-stdin"], "pw", "--username applies to neither end when --src-creds and --dest-creds are both given"],
    [["ls", "site:5000", "--src-creds", "a:b"], "", "ls: unknown option '--src-creds'"],
  ])("%j is a usage error", async (argv, stdin, message) => {
    const result = await cli(argv, stdin);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.replace(/ \(see 'stevedore[^']*--help'\)\n$/, "") }).toEqual({
      code: 2,
      stdout: "",
      stderr: `stevedore: ${message}`,
    });
  });
});

describe("--src-creds and --dest-creds", () => {
  test("each end gets its own credentials; --creds and --password-stdin fill the end not named", async () => {
    using source = await guardedRegistry("reader", "r-pass");
    using destination = await guardedRegistry("writer", "w-pass", false);
    const copy = (argv: string[], stdin = "") => cli(argv, stdin);

    const both = await copy(["sync", `${source.host}/acme/app`, destination.host, "--src-creds", "reader:r-pass", "--dest-creds", "writer:w-pass"]);
    expect([both.code, both.stderr]).toEqual([0, ""]);
    expect([[...source.seen], [...destination.seen]]).toEqual([[basic("reader", "r-pass")], [basic("writer", "w-pass")]]);
    expect(destination.manifests.has("acme/app:1.0")).toBe(true);

    source.seen.clear();
    destination.seen.clear();
    const pushed = await copy(["push", `docker://${source.host}/acme/app:1.0`, `${destination.host}/pushed`, "--creds", "reader:r-pass", "--dest-creds", "writer:w-pass"]);
    expect([pushed.code, pushed.stderr]).toEqual([0, ""]);
    expect([[...source.seen], [...destination.seen]]).toEqual([[basic("reader", "r-pass")], [basic("writer", "w-pass")]]);
    expect(destination.manifests.has("pushed/acme/app:1.0")).toBe(true);

    source.seen.clear();
    destination.seen.clear();
    const piped = await copy(["sync", `${source.host}/acme/app`, `${destination.host}/piped`, "--src-creds", "reader:r-pass", "-u", "writer", "--password-stdin"], "w-pass\n");
    expect([piped.code, piped.stderr, piped.reads]).toEqual([0, "", 1]);
    expect([[...source.seen], [...destination.seen]]).toEqual([[basic("reader", "r-pass")], [basic("writer", "w-pass")]]);

    // The shared credentials alone reach only the end they belong to.
    const wrong = await copy(["sync", `${source.host}/acme/app`, `${destination.host}/wrong`, "--creds", "reader:r-pass"]);
    expect(wrong.code).toBe(1);
    expect(destination.manifests.has("wrong/acme/app:1.0")).toBe(false);
  });

  test("sync and push list the flags in their help", async () => {
    for (const name of ["sync", "push"]) {
      const help = (await cli([name, "--help"])).stdout;
      expect(help).toContain("--src-creds USER:PASS");
      expect(help).toContain("--dest-creds USER:PASS");
      expect(help).toContain("--password-stdin");
    }
  });
});
