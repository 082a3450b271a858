import { describe, expect, test } from "bun:test";
import { jsonLines, stevedore } from "./run.ts";

const HEX64 = "0123456789abcdef".repeat(4);
const SHA256 = `sha256:${HEX64}`;

describe("stevedore ref --json", () => {
  test("one object per input, in order, absent parts left out", async () => {
    const inputs = [
      "busybox",
      "busybox:1.36",
      `busybox@${SHA256}`,
      `localhost:5000/a/b:v1@${SHA256}`,
      "docker.io/library/a/b",
      "index.docker.io/user/app",
      "[::1]:5000/app",
      "foo_bar.com/app",
    ];
    const result = await stevedore(["ref", "--json", ...inputs]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        { input: "busybox", name: "docker.io/library/busybox", domain: "docker.io", path: "library/busybox", familiar: "busybox" },
        { input: "busybox:1.36", name: "docker.io/library/busybox", domain: "docker.io", path: "library/busybox", tag: "1.36", familiar: "busybox:1.36" },
        { input: `busybox@${SHA256}`, name: "docker.io/library/busybox", domain: "docker.io", path: "library/busybox", digest: SHA256, familiar: `busybox@${SHA256}` },
        { input: `localhost:5000/a/b:v1@${SHA256}`, name: "localhost:5000/a/b", domain: "localhost:5000", path: "a/b", tag: "v1", digest: SHA256, familiar: `localhost:5000/a/b:v1@${SHA256}` },
        { input: "docker.io/library/a/b", name: "docker.io/library/a/b", domain: "docker.io", path: "library/a/b", familiar: "library/a/b" },
        { input: "index.docker.io/user/app", name: "docker.io/user/app", domain: "docker.io", path: "user/app", familiar: "user/app" },
        { input: "[::1]:5000/app", name: "[::1]:5000/app", domain: "[::1]:5000", path: "app", familiar: "[::1]:5000/app" },
        // The candidate domain is not a valid one: the whole is a path, and there is no domain.
        { input: "foo_bar.com/app", name: "foo_bar.com/app", path: "foo_bar.com/app", familiar: "foo_bar.com/app" },
      ]
        .map((o) => `${JSON.stringify(o)}\n`)
        .join(""),
    });
  });

  test("fields always come in the documented order", async () => {
    const { stdout } = await stevedore(["ref", "--json", `a:1@${SHA256}`, "Bad"]);
    const order = ["input", "name", "domain", "path", "tag", "digest", "familiar"];
    expect(jsonLines(stdout).map((o) => Object.keys(o as object))).toEqual([order, ["input", "error"]]);
  });

  test("an invalid input: {input, error} on stdout, exit code 1, the others still printed", async () => {
    const inputs = ["Busybox", "ok", "a___b", `${"a".repeat(238)}`, "ok@sha256:abc", `ok@sha256:${HEX64.toUpperCase()}`, ""];
    const result = await stevedore(["ref", "--json", ...inputs]);
    expect([result.code, result.stderr]).toEqual([1, ""]);
    expect(jsonLines(result.stdout)).toEqual([
      { input: "Busybox", error: "repository name must be lowercase" },
      { input: "ok", name: "docker.io/library/ok", domain: "docker.io", path: "library/ok", familiar: "ok" },
      { input: "a___b", error: "invalid reference format" },
      { input: "a".repeat(238), error: "repository name must not be more than 255 characters" },
      { input: "ok@sha256:abc", error: "invalid reference format" },
      { input: `ok@sha256:${HEX64.toUpperCase()}`, error: "invalid digest format" },
      { input: "", error: "invalid reference format" },
    ]);
  });

  test("without --any, an id is refused and a bare digest reads as name:tag (as docker reads it)", async () => {
    const result = await stevedore(["ref", "--json", HEX64, SHA256]);
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)).toEqual([
      { input: HEX64, error: "invalid reference format" },
      { input: SHA256, name: "docker.io/library/sha256", domain: "docker.io", path: "library/sha256", tag: HEX64, familiar: SHA256 },
    ]);
  });

  test("--any: 64-hex ids and bare digests, digest and familiar only", async () => {
    const unknown = `sha256+b64u:${HEX64.slice(0, 32)}`;
    const gitTag = `app:${HEX64.slice(0, 40)}`;
    const result = await stevedore(["ref", "--any", "--json", HEX64, SHA256, unknown, gitTag, "busybox", HEX64.slice(1)]);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(jsonLines(result.stdout)).toEqual([
      { input: HEX64, digest: SHA256, familiar: SHA256 },
      { input: SHA256, digest: SHA256, familiar: SHA256 },
      { input: unknown, digest: unknown, familiar: unknown },
      // A name with a hex tag stays a name, as in docker.
      { input: gitTag, name: "docker.io/library/app", domain: "docker.io", path: "library/app", tag: HEX64.slice(0, 40), familiar: gitTag },
      { input: "busybox", name: "docker.io/library/busybox", domain: "docker.io", path: "library/busybox", familiar: "busybox" },
      { input: HEX64.slice(1), name: `docker.io/library/${HEX64.slice(1)}`, domain: "docker.io", path: `library/${HEX64.slice(1)}`, familiar: HEX64.slice(1) },
    ]);
  });

  test("--any still refuses what is neither", async () => {
    const result = await stevedore(["ref", "--any", "--json", "sha256:abc:def", `sha256:${HEX64}0`, HEX64.toUpperCase()]);
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)).toEqual([
      { input: "sha256:abc:def", error: "invalid reference format" },
      // One hex character too many for a sha256 digest: the image "sha256" with that tag.
      { input: `sha256:${HEX64}0`, name: "docker.io/library/sha256", domain: "docker.io", path: "library/sha256", tag: `${HEX64}0`, familiar: `sha256:${HEX64}0` },
      { input: HEX64.toUpperCase(), error: "repository name must be lowercase" },
    ]);
  });

  test("inputs that look like flags go after --", async () => {
    const result = await stevedore(["ref", "--json", "--", "-busybox", "busybox"]);
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout).map((o) => (o as { error?: string }).error ?? "ok")).toEqual(["invalid reference format", "ok"]);
  });
});

describe("stevedore ref, text output", () => {
  test("familiar and full form, tab-separated", async () => {
    expect(await stevedore(["ref", "busybox:1", `quay.io/a/b@${SHA256}`])).toEqual({
      code: 0,
      stdout: `busybox:1\tdocker.io/library/busybox:1\nquay.io/a/b@${SHA256}\tquay.io/a/b@${SHA256}\n`,
      stderr: "",
    });
  });

  test("invalid input: one line on stderr naming the value and the rule, exit code 1", async () => {
    const result = await stevedore(["ref", "Busybox", "ok"]);
    expect(result).toEqual({
      code: 1,
      stdout: "ok\tdocker.io/library/ok\n",
      stderr: 'stevedore: repository name must be lowercase: "Busybox": the path "library/Busybox" has uppercase letters\n',
    });
  });
});

describe("stevedore ref usage", () => {
  test("--help", async () => {
    const result = await stevedore(["ref", "--help"]);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toStartWith("Usage: stevedore ref [--json] [--any] INPUT...\n");
    expect(result.stdout).toContain("--json");
    expect(result.stdout).toContain("--any");
    expect(await stevedore(["ref", "-h"])).toEqual(result);
  });

  const usage: [string[], string][] = [
    [["ref", "--bogus", "busybox"], "stevedore: ref: unknown option '--bogus' (see 'stevedore ref --help')\n"],
    [["ref", "-x", "busybox"], "stevedore: ref: unknown option '-x' (see 'stevedore ref --help')\n"],
    [["ref", "--json=yes", "busybox"], "stevedore: ref: Option '--json' does not take an argument (see 'stevedore ref --help')\n"],
    [["ref"], "stevedore: ref: expected at least one INPUT (see 'stevedore ref --help')\n"],
    [["ref", "--json"], "stevedore: ref: expected at least one INPUT (see 'stevedore ref --help')\n"],
  ];
  test.each(usage)("%p: exit code 2, one line on stderr, nothing on stdout", async (args, stderr) => {
    expect(await stevedore(args)).toEqual({ code: 2, stdout: "", stderr });
  });
});
