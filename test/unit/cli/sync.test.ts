/** `stevedore sync` and `stevedore push` over in-memory endpoints: output, exit codes, usage errors. */
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../../src/cli/command.ts";
import { pushCommandWith } from "../../../src/cli/push.ts";
import type { EndpointRequest, OpenEndpoints } from "../../../src/cli/sync-endpoints.ts";
import { SyncReporter } from "../../../src/cli/sync-progress.ts";
import { defaultParallel, syncCommandWith } from "../../../src/cli/sync.ts";
import { generateImage, generateMultiArch, type GeneratedManifest } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { destination, load, names, source } from "../sync/fixtures.ts";
import { runCli } from "./run.ts";

async function setup(items: GeneratedManifest[]) {
  const src = new MemoryHome("memory:source");
  await load(src, items);
  const dest = new MemoryHome("memory:dest");
  const requests: EndpointRequest[] = [];
  const open: OpenEndpoints = async (request) => {
    requests.push(request);
    const only = request.source.split(",").filter((n) => n !== "all");
    return {
      source: source(src, only.length ? only : names(items)),
      destination: destination(dest, request.prefix ? `${request.prefix}/` : ""),
    };
  };
  return { src, dest, open, requests };
}

const cli = (command: ReturnType<typeof syncCommandWith>, ...argv: string[]) => runCli(argv, { command });
const cliWith = (signal: AbortSignal, command: ReturnType<typeof syncCommandWith>, ...argv: string[]) => runCli(argv, { command, signal });

const app = () => generateImage({ name: "docker.io/acme/app:1.0", seed: "app" });
const web = () => generateImage({ name: "docker.io/acme/web:2", seed: "web" });

describe("sync", () => {
  test("copies, prints one line per image and a summary, exit 0; again: all skipped", async () => {
    const items = [await app(), await web()];
    const { open, dest } = await setup(items);
    const sync = syncCommandWith(open);
    const first = await cli(sync, "all", "memory:dest");
    expect(first.code).toBe(0);
    expect(first.stderr).toBe("");
    const lines = first.stdout.trim().split("\n");
    expect(lines.slice(0, 2).sort()).toEqual([
      `copied   docker.io/acme/app:1.0 -> acme/app:1.0  ${items[0]!.descriptor.digest}`,
      `copied   docker.io/acme/web:2 -> acme/web:2  ${items[1]!.descriptor.digest}`,
    ]);
    expect(lines[2]).toMatch(/^images: 2 synced, 0 skipped, 0 failed · blobs: 6 pushed, 0 mounted, 0 skipped · [\d.]+ kB in [\d.]+ s \([\d.]+ MB\/s\)$/);
    expect((await dest.resolve("acme/app", "1.0")).digest).toBe(items[0]!.descriptor.digest);
    const again = await cli(sync, "all", "memory:dest");
    expect(again.stdout).toContain("present  docker.io/acme/app:1.0");
    expect(again.stdout).toContain("images: 0 synced, 2 skipped, 0 failed");
  });

  test("--json writes events and a final summary, one JSON object per line", async () => {
    const { open } = await setup([await app()]);
    const { code, stdout } = await cli(syncCommandWith(open), "all", "memory:dest", "--json");
    expect(code).toBe(0);
    const events = stdout.trim().split("\n").map((l) => JSON.parse(l));
    const types = new Set(events.map((e) => e.type));
    expect([...types]).toEqual(["planned", "blob-started", "blob-done", "manifest-pushed", "image-done", "summary"]);
    expect(events.at(-1)).toMatchObject({ type: "summary", images: { synced: 1, failed: 0 }, blobs: { pushed: 3 } });
  });

  test("--dry-run prints the plan and moves nothing; with --json as one document", async () => {
    const { open, dest } = await setup([await app()]);
    const sync = syncCommandWith(open);
    const text = await cli(sync, "all", "memory:dest", "--dry-run");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^copy     docker.io\/acme\/app:1.0 -> acme\/app:1.0: 3 blobs to push \([\d.]+ kB\), 0 to mount, 0 present, 1 manifest\n/);
    expect(text.stdout).toMatch(/total: 1 image \(1 to copy, 0 to tag, 0 present, 0 failed\)/);
    const json = await cli(sync, "all", "memory:dest", "--dry-run", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ images: [{ action: "copy", blobs: { push: 3 } }], totals: { blobs: { push: 3 } } });
    expect(dest.repos.size).toBe(0);
  });

  test("a failed image: message on stderr, exit 1; --keep-going copies the rest", async () => {
    const items = [await app(), await web()];
    const { open, src, dest } = await setup(items);
    const victim = items[0]!.blobs[1]!.descriptor.digest;
    src.blobs.set(victim, new Uint8Array([1, 2, 3]));
    const { code, stderr, stdout } = await cli(syncCommandWith(open), "all", "memory:dest", "--keep-going");
    expect(code).toBe(1);
    expect(stderr).toStartWith(`stevedore: cannot sync "docker.io/acme/app:1.0": blob ${victim} from memory:source: content size does not match`);
    expect(stdout).toContain("images: 1 synced, 0 skipped, 1 failed");
    expect(await dest.tags("acme/web")).toEqual(["2"]);
    expect(dest.repos.get("acme/app")?.tags.size ?? 0).toBe(0);
  });

  test("--platform notes the digest change on stderr; --prefix goes to the opener", async () => {
    const multi = await generateMultiArch("docker.io/library/multi:2.0");
    const { open, dest, requests } = await setup([multi]);
    const { code, stderr } = await cli(syncCommandWith(open), "all", "site:5000", "--platform", "linux/amd64", "--prefix", "mirror");
    expect(code).toBe(0);
    const amd = multi.children[0]!.descriptor.digest;
    expect(stderr).toBe(
      `stevedore: note: docker.io/library/multi:2.0: copying linux/amd64 only; the digest changes from ${multi.descriptor.digest} to ${amd}\n`,
    );
    expect(requests[0]).toMatchObject({ source: "all", destination: "site:5000", prefix: "mirror" });
    expect((await dest.resolve("mirror/library/multi", "2.0")).digest).toBe(amd);
  });

  test("default parallelism: 6 towards a registry, 2 between local ends (one thread hashes)", () => {
    expect(defaultParallel(false)).toBe(6);
    expect(defaultParallel(true)).toBe(2);
  });

  test("interrupted: exit 130 and how to finish", async () => {
    const { open, dest } = await setup([await app()]);
    const stop = new AbortController();
    stop.abort(new Error("received SIGINT"));
    const { code, stderr, stdout } = await cliWith(stop.signal, syncCommandWith(open), "all", "memory:dest");
    expect(code).toBe(130);
    expect(stderr).toBe("stevedore: interrupted; the same command again finishes the copy, moving only what is missing\n");
    expect(stdout).toContain("images: 0 synced, 0 skipped, 0 failed, 1 not done");
    expect(dest.repos.size).toBe(0);
  });

  test("bad usage is a usage error", async () => {
    const sync = syncCommandWith((await setup([])).open);
    await expect(cli(sync, "only-one")).rejects.toThrow("sync: expected SOURCE and DEST");
    await expect(cli(sync, "a", "b", "c")).rejects.toThrow('sync: unexpected argument "c"');
    await expect(cli(sync, "a", "b", "--parallel", "0")).rejects.toThrow("--parallel must be a whole number from 1 to 1024");
    await expect(cli(sync, "a", "b", "--parallel", "2x")).rejects.toThrow("--parallel");
    await expect(cli(sync, "a", "b", "--platform", "linux")).rejects.toThrow('sync: Invalid platform "linux"');
    await expect(cli(sync, "a", "b", "--bogus")).rejects.toThrow("unknown option");
    const help = await cli(sync, "--help");
    expect(help.stdout).toContain("--platform P");
  });

  test("a --prefix outside the repository path grammar is a usage error before anything is opened", async () => {
    const { open, requests } = await setup([await app()]);
    for (const [command, argv] of [
      [syncCommandWith(open), ["all", "site:5000"]],
      [pushCommandWith(open), ["all", "site:5000"]],
    ] as const) {
      for (const [prefix, reason] of <[string, string][]>[
        ["A", "repository paths are lowercase"],
        ["Mirror/acme", "repository paths are lowercase"],
        ["..", "expected path components"],
        ["mirror/../x", "expected path components"],
        ["/mirror", "a repository path does not start with /"],
        ["", "it is empty"],
        ["a".repeat(255), "a repository name has at most 255 characters"],
      ]) {
        const error = await cli(command, ...argv, "--prefix", prefix).catch((e) => e);
        const shown = JSON.stringify(prefix.length > 200 ? `${prefix.slice(0, 200)}…` : prefix);
        expect([error instanceof UsageError, error.message]).toEqual([true, expect.stringContaining(`${command.name}: Invalid --prefix ${shown}: ${reason}`)]);
      }
    }
    expect(requests).toEqual([]);
    expect((await cli(syncCommandWith(open), "all", "site:5000", "--prefix", "site/mirror-2/")).code).toBe(0);
    expect(requests[0]!.prefix).toBe("site/mirror-2");
  });
});

describe("push", () => {
  test("pushes the one image named; REGISTRY becomes docker://", async () => {
    const items = [await app(), await web()];
    const { open, dest, requests } = await setup(items);
    const { code } = await cli(pushCommandWith(open), "docker.io/acme/web:2", "site.example");
    expect(code).toBe(0);
    expect(requests[0]!.destination).toBe("docker://site.example");
    expect([...dest.repos.keys()]).toEqual(["acme/web"]);
  });

  test("a REGISTRY that is a path or another transport is a usage error; a host named like one is not", async () => {
    const { open, dest, requests } = await setup([await app()]);
    for (const registry of ["oci:/tmp/out", "store:./data", "oci-archive:x.tar", "/srv/images", "./out", "http://site:5000"]) {
      await expect(cli(pushCommandWith(open), "docker.io/acme/app:1.0", registry)).rejects.toThrow(
        `push: REGISTRY must be a registry (HOST[:PORT][/PATH]), not ${JSON.stringify(registry)}`,
      );
    }
    expect(requests).toEqual([]);
    expect(dest.repos.size).toBe(0);
    for (const registry of ["store:5000", "oci:5000/mirror", "docker://site:5000", "site.example"]) {
      expect((await cli(pushCommandWith(open), "docker.io/acme/app:1.0", registry)).code).toBe(0);
    }
    expect(requests.map((r) => r.destination)).toEqual(["docker://store:5000", "docker://oci:5000/mirror", "docker://site:5000", "docker://site.example"]);
  });

  test("a source naming several images is refused", async () => {
    const { open, dest } = await setup([await app(), await web()]);
    await expect(cli(pushCommandWith(open), "all", "docker://site:5000")).rejects.toThrow(
      '"all" names 2 images; push copies one (name it, or use \'stevedore sync\' for all)',
    );
    expect(dest.repos.size).toBe(0);
  });
});

describe("progress", () => {
  function reporter(interactive: boolean) {
    let stdout = "";
    let stderr = "";
    const r = new SyncReporter(
      { stdout: { write: (t) => void (stdout += t) }, stderr: { write: (t) => void (stderr += t) }, interactive },
      { mode: "text", interval: 60_000 },
    );
    return { r, out: () => ({ stdout, stderr }) };
  }
  const totals = {
    images: { total: 2, copy: 2, tag: 0, present: 0, failed: 0, cancelled: 0 },
    blobs: { push: 2, mount: 0, skip: 0 },
    bytes: { push: 3_000_000, mount: 0, skip: 0 },
    manifests: 2,
  };

  test("not a terminal: whole progress lines", () => {
    const { r, out } = reporter(false);
    r.listener({ type: "planned", totals });
    r.listener({ type: "blob-started", repository: "a", digest: "sha256:x" as never, size: 1_500_000, action: "push" });
    r.listener({ type: "blob-progress", digest: "sha256:x" as never, bytes: 1_500_000 });
    r.render();
    r.stop();
    expect(out().stderr).toMatch(/^progress: images 0\/2 · 1.50 MB of 3.00 MB · [\d.]+ MB\/s · 1 transfers\n$/);
  });

  test("results in a burst are one write, before any later stderr line and at the end at the latest", async () => {
    const writes: string[] = [];
    const r = new SyncReporter(
      { stdout: { write: (t) => void writes.push(`out ${t}`) }, stderr: { write: (t) => void writes.push(`err ${t}`) }, interactive: false },
      { mode: "text", interval: 60_000 },
    );
    const done = (n: number) => r.listener({ type: "image-done", image: `docker.io/a:${n}`, target: `a:${n}`, digest: "sha256:y" as never, outcome: "present" });
    r.listener({ type: "planned", totals });
    done(1);
    done(2);
    expect(writes).toEqual([]);
    r.listener({ type: "warning", message: "careful" });
    done(3);
    await Bun.sleep(150);
    done(4);
    r.stop();
    expect(writes).toEqual([
      "out present  docker.io/a:1 -> a:1  sha256:y\npresent  docker.io/a:2 -> a:2  sha256:y\n",
      "err stevedore: warning: careful\n",
      "out present  docker.io/a:3 -> a:3  sha256:y\n",
      "out present  docker.io/a:4 -> a:4  sha256:y\n",
    ]);
  });

  test("a terminal: one line redrawn in place, cleared before results", () => {
    const { r, out } = reporter(true);
    r.listener({ type: "planned", totals });
    r.render();
    r.listener({ type: "image-done", image: "docker.io/a:1", target: "a:1", digest: "sha256:y" as never, outcome: "copied" });
    r.stop();
    expect(out().stderr).toMatch(/^\r\x1b\[2Kimages 0\/2 · 0 B of 3.00 MB · 0.0 MB\/s · 0 transfers\r\x1b\[2K$/);
    expect(out().stdout).toBe("copied   docker.io/a:1 -> a:1  sha256:y\n");
  });
});
