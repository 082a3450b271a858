/** `stevedore gc` as a user runs it: keep lists and bundles, bad input, dry runs, reports. */
import { describe, expect, test } from "bun:test";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Store } from "../../../src/store/index.ts";
import { pushTree } from "../../helpers/home-contract.ts";
import { generateImage, generateLayer, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { tempDir } from "../store/fixtures.ts";
import { runCli } from "./run.ts";

const cli = (...argv: string[]) => runCli(argv);

/** A store holding two releases of an app and a database, sharing a base layer. */
async function filledStore(root: string) {
  const base = await generateLayer({ seed: "base", size: 2048 });
  const images = {
    app1: await generateImage({ name: "docker.io/acme/app:1.0", seed: "app1", baseLayers: [base], layerSize: 1024 }),
    app2: await generateImage({ name: "docker.io/acme/app:2.0", seed: "app2", baseLayers: [base], layerSize: 1024 }),
    db: await generateImage({ name: "quay.io/acme/db:5", seed: "db", baseLayers: [base], layerSize: 1024 }),
  };
  const store = await Store.open({ root });
  await pushTree(store, "acme/app", images.app1, "1.0");
  await pushTree(store, "acme/app", images.app2, "2.0");
  await pushTree(store, "acme/db", images.db, "5");
  await store.close();
  await Bun.sleep(2); // gc's clock is past every push
  return images;
}

/** Every file under the root with its size, and what the store lists: a run that changes nothing leaves this as it was. */
async function listing(root: string) {
  const files: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith("metadata.db")) continue;
    const path = join(entry.parentPath, entry.name);
    files.push(`${path.slice(root.length)} ${(await stat(path)).size}`);
  }
  const store = await Store.open({ root });
  try {
    const tags: string[] = [];
    for (const repository of await store.repositories()) for (const tag of await store.tags(repository)) tags.push(`${repository}:${tag}`);
    const manifests: string[] = [];
    for await (const m of store.allManifests()) manifests.push(`${m.repository}@${m.digest}`);
    return { files: files.sort(), tags, manifests };
  } finally {
    await store.close();
  }
}

async function tags(root: string): Promise<string[]> {
  return (await listing(root)).tags;
}

describe("gc --keep", () => {
  test("an image list keeps what it names (domains are the upstream's); everything else goes", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const keep = join(dir.path, "release.txt");
    await writeFile(keep, "# release 2\ndocker.io/acme/app:2.0\n\nquay.io/acme/db:5   # the database\n");
    const result = await cli("gc", "--root", root, "--keep", keep, "--grace", "0");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^removed tag acme\/app:1\.0 \(sha256:[0-9a-f]{64}\)\nremoved manifest acme\/app@sha256:[0-9a-f]{64}\ngc: removed 1 tag, 1 manifest, 3 blobs \(/);
    expect(await tags(root)).toEqual(["acme/app:2.0", "acme/db:5"]);
  });

  test("lists that name the site registry, and YAML lists, match the same way", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const text = join(dir.path, "site.txt");
    await writeFile(text, "site.example:5000/acme/app:1.0\n");
    const yaml = join(dir.path, "more.yaml");
    await writeFile(yaml, "images:\n  - quay.io/acme/db:5\n");
    const result = await cli("gc", "--root", root, "--keep", text, "--keep", yaml, "--grace", "0", "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.tags).toEqual([expect.objectContaining({ repository: "acme/app", tag: "2.0" })]);
    expect(await tags(root)).toEqual(["acme/app:1.0", "acme/db:5"]);
  });

  test("a bundle keeps its images: OCI layout directory and tar alike", async () => {
    await using dir = await tempDir();
    for (const form of ["directory", "archive"] as const) {
      const root = join(dir.path, `store-${form}`);
      const images = await filledStore(root);
      const layout = join(dir.path, `bundle-${form}`);
      await writeOciLayout(layout, [images.app1]);
      let keep = layout;
      if (form === "archive") {
        keep = `${layout}.tar`;
        expect(Bun.spawnSync(["tar", "-C", layout, "-cf", keep, "."]).exitCode).toBe(0);
      }
      const result = await cli("gc", "--root", root, "--keep", keep, "--grace", "0");
      expect({ form, code: result.code, stderr: result.stderr }).toEqual({ form, code: 0, stderr: "" });
      expect(await tags(root)).toEqual(["acme/app:1.0"]);
    }
  });

  test("images not in the store are warned about and keep nothing more", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const keep = join(dir.path, "keep.txt");
    await writeFile(keep, "docker.io/acme/app:2.0\ndocker.io/acme/app:9.9\nregistry.k8s.io/pause:3.9\n");
    const result = await cli("gc", "--root", root, "--keep", keep, "--grace", "0");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `stevedore: warning: ${keep}:2: docker.io/acme/app:9.9 is not in the store; nothing is kept for it\n` +
        `stevedore: warning: ${keep}:3: registry.k8s.io/pause:3.9 is not in the store; nothing is kept for it\n`,
    );
    expect(await tags(root)).toEqual(["acme/app:2.0"]);
  });

  test("--prefix: the images were synced under a prefix", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    const image = await generateImage({ name: "docker.io/acme/app:1.0", seed: "prefixed" });
    const store = await Store.open({ root });
    await pushTree(store, "site/acme/app", image, "1.0");
    await pushTree(store, "site/acme/app", await generateImage({ seed: "other" }), "old");
    await store.close();
    await Bun.sleep(2);
    const keep = join(dir.path, "keep.txt");
    await writeFile(keep, "docker.io/acme/app:1.0\n");
    const result = await cli("gc", "--root", root, "--keep", keep, "--prefix", "site", "--grace", "0");
    expect(result.code).toBe(0);
    expect(await tags(root)).toEqual(["site/acme/app:1.0"]);
  });
});

describe("gc bad input: a clear error, nothing deleted", () => {
  test.each([
    ["a malformed line", "docker.io/acme/app:2.0\nnot a reference\n", /^stevedore: gc: .*keep\.txt:2: expected one image reference, got "not a reference"\n$/],
    ["an invalid reference", "docker.io/acme/app:2.0\n\nacme/App:1\n", /^stevedore: gc: .*keep\.txt:3: .*uppercase/],
    ["broken YAML", "images:\n  - [unclosed\n", /^stevedore: gc: .*keep\.yaml:\d+: invalid YAML/],
  ])("%s", async (_, text, message) => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const keep = join(dir.path, text.startsWith("images:") ? "keep.yaml" : "keep.txt");
    await writeFile(keep, text);
    const before = await listing(root);
    const result = await cli("gc", "--root", root, "--keep", keep, "--grace", "0");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(await listing(root)).toEqual(before);
  });

  test("a keep list matching nothing is refused; --force runs it", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const keep = join(dir.path, "typo.txt");
    await writeFile(keep, "docker.io/acme/ap:2.0\n");
    const before = await listing(root);
    const refused = await cli("gc", "--root", root, "--keep", keep, "--grace", "0");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toEndWith(
      "stevedore: gc: None of the 1 images the keep lists name is in the store, so every image would be removed; nothing was removed (--force removes every image)\n",
    );
    expect(await listing(root)).toEqual(before);
    const empty = join(dir.path, "empty.txt");
    await writeFile(empty, "# nothing\n");
    expect((await cli("gc", "--root", root, "--keep", empty, "--grace", "0")).code).toBe(1);
    expect(await listing(root)).toEqual(before);
    const forced = await cli("gc", "--root", root, "--keep", keep, "--grace", "0", "--force");
    expect(forced.code).toBe(0);
    expect(await tags(root)).toEqual([]);
  });

  test("a missing keep file, a missing store, bad flags", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const before = await listing(root);
    const cases: [string[], number, RegExp][] = [
      [["--keep", join(dir.path, "absent.txt")], 1, /Cannot read keep list ".*absent\.txt": no such file/],
      [["--tag-pattern", "v.*"], 2, /--tag-pattern needs --keep-recent or --keep-within/],
      [["--keep-recent", "two"], 2, /--keep-recent must be a whole number, not "two"/],
      [["--keep-recent", "1", "--tag-pattern", "("], 2, /--tag-pattern: Invalid regular expression/],
      [["--grace", "soon"], 2, /--grace: invalid duration "soon"/],
      [["extra"], 2, /gc: unexpected argument "extra"/],
    ];
    for (const [args, code, message] of cases) {
      const result = await cli("gc", "--root", root, ...args);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr).toMatch(message);
    }
    const missing = await cli("gc", "--root", join(dir.path, "nowhere"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/gc: no store at ".*nowhere"/);
    await expect(stat(join(dir.path, "nowhere"))).rejects.toThrow();
    expect(await listing(root)).toEqual(before);
  });
});

describe("gc reports", () => {
  test("a dry run prints what would go and changes nothing on disk", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const keep = join(dir.path, "keep.txt");
    await writeFile(keep, "docker.io/acme/app:2.0\n");
    const before = await listing(root);
    const dry = await cli("gc", "--root", root, "--keep", keep, "--grace", "0", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would remove tag acme\/app:1\.0 /m);
    expect(dry.stdout).toMatch(/^would remove repository acme\/db$/m);
    expect(dry.stdout).toMatch(/^gc \(dry run\): would remove 2 tags, 2 manifests, 6 blobs \(.*\), 1 repository; would free /m);
    expect(await listing(root)).toEqual(before);
    const real = await cli("gc", "--root", root, "--keep", keep, "--grace", "0", "--json");
    const report = JSON.parse(real.stdout);
    expect(report).toMatchObject({ dryRun: false, tags: [{}, {}], manifests: [{}, {}], blobs: { count: 6 }, repositories: ["acme/db"] });
    expect(report.bytesFreed).toBe(report.blobs.bytes);
  });

  test("without --keep: only unreferenced blobs (and with --delete-untagged, untagged manifests)", async () => {
    await using dir = await tempDir();
    const root = join(dir.path, "store");
    await filledStore(root);
    const untagged: GeneratedManifest = await generateImage({ seed: "untagged" });
    const store = await Store.open({ root });
    await pushTree(store, "acme/app", untagged);
    await store.close();
    await Bun.sleep(2);
    const plain = JSON.parse((await cli("gc", "--root", root, "--grace", "0", "--json")).stdout);
    expect(plain).toMatchObject({ tags: [], manifests: [], blobs: { count: 0 } });
    const deleting = JSON.parse((await cli("gc", "--root", root, "--grace", "0", "--json", "--delete-untagged")).stdout);
    expect(deleting.manifests.map((m: { digest: string }) => m.digest)).toEqual([untagged.descriptor.digest]);
    expect(deleting.blobs.count).toBe(3);
    expect(await tags(root)).toEqual(["acme/app:1.0", "acme/app:2.0", "acme/db:5"]);
  });
});
