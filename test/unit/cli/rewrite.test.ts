/** `stevedore rewrite`: files in place, --check, stdin to stdout, errors that change nothing. */
import { afterAll, expect, test } from "bun:test";
import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli } from "./run.ts";

const dir = await mkdtemp(join(tmpdir(), "rewrite-cli-"));
afterAll(() => rm(dir, { recursive: true, force: true }));
const MAIN = resolve(import.meta.dir, "../../../src/main.ts");

const cli = (...argv: string[]) => runCli(argv);

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.25   # pinned
      - name: exporter
        image: "quay.io/prometheus/nginx-exporter:1.1"
`;
const REWRITTEN = DEPLOYMENT.replace("nginx:1.25", "site:5000/library/nginx:1.25").replace(
  "quay.io/prometheus/nginx-exporter:1.1",
  "site:5000/prometheus/nginx-exporter:1.1",
);

test("rewrites files in place, atomically, keeping mode; a symlink stays a symlink", async () => {
  const file = join(dir, "deploy.yaml");
  await writeFile(file, DEPLOYMENT);
  await chmod(file, 0o640);
  const link = join(dir, "link.yaml");
  await symlink("deploy.yaml", link);
  const before = await stat(file);
  const result = await cli("rewrite", "--registry", "site:5000", link);
  expect(result).toEqual({ code: 0, stdout: "", stderr: `${link}: 2 changes\n` });
  expect(await readFile(file, "utf8")).toBe(REWRITTEN);
  const after = await stat(file);
  expect(after.mode & 0o777).toBe(0o640);
  expect(after.ino).not.toBe(before.ino); // replaced by rename, not written over
  expect((await lstat(link)).isSymbolicLink()).toBe(true);
  expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

  // Nothing to change: the file is not touched at all.
  const again = await cli("rewrite", "--registry", "site:5000", file);
  expect(again).toEqual({ code: 0, stdout: "", stderr: `${file}: 0 changes\n` });
  expect((await stat(file)).ino).toBe(after.ino);
});

test("--check lists what would change, exits 1, writes nothing", async () => {
  const file = join(dir, "check.yaml");
  await writeFile(file, DEPLOYMENT);
  const result = await cli("rewrite", "--check", "--registry", "site:5000", file);
  expect(result).toEqual({
    code: 1,
    stdout:
      `${file}:8: nginx:1.25 -> site:5000/library/nginx:1.25\n` +
      `${file}:10: quay.io/prometheus/nginx-exporter:1.1 -> site:5000/prometheus/nginx-exporter:1.1\n`,
    stderr: "",
  });
  expect(await readFile(file, "utf8")).toBe(DEPLOYMENT);
  await writeFile(file, REWRITTEN);
  expect(await cli("rewrite", "--check", "--registry", "site:5000", file)).toEqual({ code: 0, stdout: "", stderr: "" });
});

test("--reverse with an image list, and without", async () => {
  const file = join(dir, "reverse.yaml");
  await writeFile(file, REWRITTEN);
  const list = join(dir, "images.txt");
  await writeFile(list, "# release\nnginx:1.25\nquay.io/prometheus/nginx-exporter:1.1\n");
  expect((await cli("rewrite", "--reverse", "--images", list, "--registry", "site:5000", file)).code).toBe(0);
  expect(await readFile(file, "utf8")).toBe(DEPLOYMENT);

  await writeFile(file, REWRITTEN);
  expect((await cli("rewrite", "--reverse", "--registry", "site:5000", file)).code).toBe(0);
  expect(await readFile(file, "utf8")).toBe(DEPLOYMENT.replace("quay.io/prometheus/", "prometheus/"));
});

test("an ambiguous origin is an error naming both, and no file changes", async () => {
  const a = join(dir, "amb-a.yaml");
  const b = join(dir, "amb-b.yaml");
  await writeFile(a, "image: site:5000/library/nginx:1.25\n");
  await writeFile(b, "image: site:5000/x/y:1\n");
  const list = join(dir, "amb.txt");
  await writeFile(list, "nginx:1.25\nquay.io/x/y\ndocker.io/x/y\n");
  const result = await cli("rewrite", "--reverse", "--images", list, "--registry", "site:5000", a, b);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    `stevedore: ${b}:1:8: "site:5000/x/y:1" is ambiguous: it may come from quay.io/x/y (${list}:2) or docker.io/x/y (${list}:3) (no file was changed)\n`,
  );
  expect(await readFile(a, "utf8")).toBe("image: site:5000/library/nginx:1.25\n");
});

test("malformed YAML: file and line named, the file untouched", async () => {
  const good = join(dir, "good.yaml");
  const bad = join(dir, "bad.yaml");
  await writeFile(good, DEPLOYMENT);
  const badText = "kind: Pod\nspec:\n  containers:\n  - image: nginx\n    name: [oops\n";
  await writeFile(bad, badText);
  const before = await stat(bad);
  const result = await cli("rewrite", "--registry", "site:5000", good, bad);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(new RegExp(`^stevedore: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+: invalid YAML: .* \\(no file was changed\\)\\n$`));
  expect(await readFile(bad, "utf8")).toBe(badText);
  expect((await stat(bad)).mtimeMs).toBe(before.mtimeMs);
  expect(await readFile(good, "utf8")).toBe(DEPLOYMENT);
});

test("usage errors", async () => {
  expect((await cli("rewrite", "x.yaml")).code).toBe(2);
  expect((await cli("rewrite", "--registry", "site:5000")).code).toBe(2);
  expect((await cli("rewrite", "--registry", "site:5000", "-", "x.yaml")).code).toBe(2);
  expect((await cli("rewrite", "--registry", "site:5000", "--images", "l.txt", "x.yaml")).code).toBe(2);
  expect((await cli("rewrite", "--registry", "bad host", "x.yaml")).stderr).toContain("Invalid registry");
  const missing = await cli("rewrite", "--registry", "site:5000", join(dir, "missing.yaml"));
  expect(missing).toEqual({ code: 1, stdout: "", stderr: `stevedore: Cannot read ${JSON.stringify(join(dir, "missing.yaml"))}: no such file\n` });
});

test("- reads standard input and writes standard output", async () => {
  const proc = Bun.spawn([process.execPath, MAIN, "rewrite", "--registry", "site:5000", "--prefix", "p", "-"], {
    stdin: new TextEncoder().encode(DEPLOYMENT),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toBe(REWRITTEN.replaceAll("site:5000/", "site:5000/p/"));

  const check = Bun.spawn([process.execPath, MAIN, "rewrite", "--check", "--registry", "site:5000", "-"], {
    stdin: new TextEncoder().encode("image: nginx\n"),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, , checkCode] = await Promise.all([new Response(check.stdout).text(), new Response(check.stderr).text(), check.exited]);
  expect({ checkCode, out }).toEqual({ checkCode: 1, out: "-:1: nginx -> site:5000/library/nginx\n" });
});
