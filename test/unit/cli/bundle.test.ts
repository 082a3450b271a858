/** `stevedore bundle` in-process: usage errors (exit 2, one line, nothing contacted), inspect and verify output. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBundle, imagesFromArguments } from "../../../src/bundle/index.ts";
import { digestOf, encodedOf } from "../../../src/digest/index.ts";
import { OciLayoutHome } from "../../../src/transports/index.ts";
import { generateRelease, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { runCli } from "./run.ts";

const dir = mkdtempSync(join(tmpdir(), "bundle-cli-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...argv: string[]) => runCli(argv);

describe("usage", () => {
  beforeAll(() => writeFileSync(join(dir, "notes.txt"), "not a bundle"));
  test.each([
    [["bundle", "nope"], 'bundle: unknown command "nope"'],
    [["bundle", "create", "nginx"], "bundle create: name the output with -o FILE.tar or -o DIR"],
    [["bundle", "create", "-o", "x.tar"], "bundle create: no images; name them as arguments or with -f LIST"],
    [["bundle", "create", "Nginx", "-o", "x.tar"], 'bundle create: argument 1: repository name must be lowercase: "Nginx": the path "library/Nginx" has uppercase letters'],
    [["bundle", "create", "nginx", "-o", join(dir, "notes.txt")], `bundle create: ${JSON.stringify(join(dir, "notes.txt"))} is a file; name a file ending in .tar, or a directory`],
    [["bundle", "create", "nginx", "-o", "x.tar", "--platform", "linux"], 'bundle create: Invalid platform "linux": expected os/arch[/variant], e.g. linux/amd64'],
    [["bundle", "create", "nginx", "-o", "x.tar", "--parallel", "0"], 'bundle create: --parallel must be a whole number from 1 to 1024, got "0"'],
    [["bundle", "create", "-f", join(dir, "missing.txt"), "-o", "x.tar"], `bundle create: cannot read ${JSON.stringify(join(dir, "missing.txt"))}: no such file`],
    [["bundle", "create", "nginx", "-o", "x.tar", "--bogus"], "bundle create: unknown option '--bogus'"],
    [["bundle", "inspect"], "bundle inspect: expected one BUNDLE"],
    [["bundle", "verify", "a", "b"], "bundle verify: expected one BUNDLE"],
  ])("%j", async (argv, message) => {
    const result = await cli(...argv);
    expect({ ...result, stderr: result.stderr.replace(/ \(see 'stevedore[^']*--help'\)\n$/, "") }).toEqual({ code: 2, stdout: "", stderr: `stevedore: ${message}` });
  });

  test("bundle with no command prints its help and exits 2; --help exits 0", async () => {
    const bare = await cli("bundle");
    expect(bare.code).toBe(2);
    expect(bare.stdout).toStartWith("Usage: stevedore bundle COMMAND [OPTIONS]");
    const help = await cli("bundle", "create", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("-o, --output PATH");
  });

  test("a file that is not a bundle: one line, exit 1", async () => {
    expect(await cli("bundle", "inspect", join(dir, "notes.txt"))).toEqual({
      code: 1,
      stdout: "",
      stderr: `stevedore: ${join(dir, "notes.txt")}: not a bundle: not a tar archive\n`,
    });
  });
});

describe("inspect and verify", () => {
  let release: GeneratedManifest[];
  let bundle: string;
  beforeAll(async () => {
    release = await generateRelease({ layerSize: 2048, images: 2 });
    await writeOciLayout(join(dir, "upstream"), release);
    bundle = join(dir, "bundle");
    await createBundle({
      images: imagesFromArguments(release.map((r) => r.name!)),
      output: bundle,
      format: "directory",
      from: await OciLayoutHome.open(join(dir, "upstream")),
    });
  });

  test("inspect: a table, then the totals; --json the report", async () => {
    const { code, stdout } = await cli("bundle", "inspect", bundle);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^.*bundle \(directory\) · index\.json sha256:[0-9a-f]{64}$/);
    expect(lines[1]).toMatch(/^IMAGE +DIGEST +PLATFORMS +SIZE +UNIQUE$/);
    expect(lines.find((l) => l.startsWith("docker.io/library/multi:2.0"))).toContain("linux/amd64,linux/arm64/v8");
    expect(lines.at(-1)).toMatch(/^4 images · \d+ blobs, [\d.]+ kB · shared by several images: \d+ blobs?, [\d.]+ kB · unique: [\d.]+ kB · docker load: 2 images$/);
    const json = JSON.parse((await cli("bundle", "inspect", bundle, "--json")).stdout);
    expect(json.images.map((i: { name: string }) => i.name)).toEqual(release.map((r) => r.name!).sort());
  });

  test("verify: ok, then one line per problem and exit 1", async () => {
    const ok = await cli("bundle", "verify", bundle);
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(/^ok: .*: \d+ blobs \([\d.]+ kB\) hashed, 4 index entries checked\n$/);
    const config = release[0]!.blobs[0]!.descriptor.digest;
    writeFileSync(join(bundle, "blobs", "sha256", encodedOf(config)), "{}");
    const bad = await cli("bundle", "verify", bundle);
    expect(bad.code).toBe(1);
    expect(bad.stdout.trim().split("\n")).toEqual([
      `${bundle}: blobs/sha256/${encodedOf(config)}: content hashes to ${digestOf("{}")}`,
      `${bundle}: blobs/sha256/${encodedOf(config)}: is 2 bytes; manifest ${release[0]!.descriptor.digest} says ${release[0]!.blobs[0]!.descriptor.size} (image ${release[0]!.name})`,
    ]);
    expect(bad.stderr).toBe(`stevedore: ${bundle}: 2 problems\n`);
    const json = JSON.parse((await cli("bundle", "verify", bundle, "--json")).stdout);
    expect(json.problems).toHaveLength(2);
  });
});
