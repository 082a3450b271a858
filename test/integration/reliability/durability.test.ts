/**
 * Power-loss ordering, checked on the real system calls: the real `serve`
 * (and `sync` into a layout, and `bundle create`) run under strace, and
 * the trace must show, before each success is answered,
 *
 *   fsync(staged file) → link (or rename) staged → blobs/… → fsync(blob directory)
 *   → fsync(metadata.db-wal) → the 201 on the socket
 *
 * and, for files written by sync (a layout, an archive) and bundle create,
 * fsync(temp) → rename → fsync(its directory).
 * SQLite runs in WAL mode with synchronous=FULL (each commit fsyncs the WAL).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encodedOf } from "../../../src/digest/index.ts";
import { Store } from "../../../src/store/index.ts";
import { generateImage, writeOciLayout } from "../../helpers/images.ts";
import { PushClient } from "../../helpers/push-client.ts";
import { startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const TRACED = "fsync,fdatasync,rename,renameat,renameat2,link,linkat,sendto,write,writev,sendmsg";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "stevedore-durability-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Call {
  name: string;
  /** First argument's path (strace -y shows the file of a descriptor), or the rename source. */
  path: string;
  /** rename target. */
  target?: string;
  /** The data written, for socket writes (start of it). */
  data?: string;
}

/** The completed calls of an strace -f -y log, in the order they returned. */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const pid = raw.split(" ", 1)[0]!;
    let line = raw.slice(pid.length + 1);
    if (line.endsWith("<unfinished ...>")) {
      pending.set(pid, line.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(pid) ?? "") + resumed[1];
      pending.delete(pid);
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!call || call[3]!.startsWith("-")) continue;
    const [, name, args] = call as unknown as [string, string, string];
    const fdPath = /^\d+<([^>]*)>/.exec(args)?.[1];
    const strings = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    // A rename, or a hard link (the store links staged bytes into place): either puts a name in place.
    if (name.startsWith("rename") || name.startsWith("link")) calls.push({ name: "rename", path: strings[0]!, target: strings[1]! });
    else if (name === "fsync" || name === "fdatasync") calls.push({ name: "fsync", path: fdPath ?? "" });
    else if (fdPath?.startsWith("socket:")) calls.push({ name: "send", path: fdPath, data: strings[0] ?? "" });
  }
  return calls;
}

/** Index of the first call matching, at or after `from`; -1 when none. */
function find(calls: Call[], from: number, match: (c: Call) => boolean): number {
  for (let i = from; i < calls.length; i++) if (match(calls[i]!)) return i;
  return -1;
}

async function traced(args: string[], output: string, options: { untilListening?: boolean } = {}) {
  const child = Bun.spawn(["strace", "-f", "-qq", "-y", "-e", `trace=${TRACED}`, "-o", output, process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  if (!options.untilListening) {
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { child, url: "", out, err, code };
  }
  // stderr is read to its end (an unread pipe would block the server's log writes).
  let log = "";
  const { promise: listening, resolve: onListening, reject } = Promise.withResolvers<string>();
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      const match = /listening on (http:\/\/\S+)/.exec(log);
      if (match) onListening(match[1]!);
    }
    reject(new Error(`serve under strace exited:\n${log}`));
  })();
  return { child, url: await listening, out: "", err: log, code: 0 };
}

describe("the metadata database", () => {
  test("is SQLite in WAL mode with synchronous=FULL, on the one connection every statement uses", async () => {
    const root = join(work, "pragma");
    const store = await Store.open({ root });
    try {
      const sql = store.metadata.database;
      const [mode] = await sql`PRAGMA journal_mode`;
      const answers = await Promise.all(Array.from({ length: 4 }, () => sql`PRAGMA synchronous`));
      const inTransaction = await sql.begin(async (tx) => tx`PRAGMA synchronous`);
      // 2 is FULL: every commit waits for the WAL to reach the disk.
      expect({ mode, answers, inTransaction }).toEqual({
        mode: { journal_mode: "wal" },
        answers: Array.from({ length: 4 }, () => [{ synchronous: 2 }]),
        inTransaction: [{ synchronous: 2 }],
      });
    } finally {
      await store.close();
    }
  });
});

describe("under strace", () => {
  test("serve: staged bytes are flushed and put in place, the directory and the WAL flushed, before the 201", async () => {
    const root = join(work, "serve-root");
    const trace = join(work, "serve.trace");
    const serve = await traced(["serve", "--addr", "127.0.0.1:0", "--root", root], trace, { untilListening: true });
    const image = await generateImage({ seed: "durability", layers: 2, layerSize: 200_000 });
    try {
      const client = new PushClient(serve.url, { chunkSize: 64 * 1024 });
      await client.pushBlob("durable/app", image.blobs[0]!, "monolithic");
      await client.pushBlob("durable/app", image.blobs[1]!, "post-put");
      await client.pushBlob("durable/app", image.blobs[2]!, "chunked");
      await client.pushManifest("durable/app", "1.0", image);
    } finally {
      // strace passes no SIGTERM on to what it runs: stop serve itself, strace ends with it.
      const serveProcess = Number(readFileSync(`/proc/${serve.child.pid}/task/${serve.child.pid}/children`, "utf8").trim().split(" ")[0]);
      process.kill(serveProcess, "SIGTERM");
      await serve.child.exited;
    }
    const calls = parseTrace(readFileSync(trace, "utf8"));
    const problems: string[] = [];
    let at = 0;
    for (const blob of image.blobs) {
      const hex = encodedOf(blob.descriptor.digest);
      const rename = find(calls, at, (c) => c.name === "rename" && c.target!.endsWith(`/blobs/sha256/${hex.slice(0, 2)}/${hex}`));
      if (rename < 0) {
        problems.push(`${blob.descriptor.digest}: not linked or renamed into blobs/`);
        continue;
      }
      const staged = calls[rename]!.path;
      const flushedBefore = calls.slice(at, rename).some((c) => c.name === "fsync" && c.path === staged);
      const dirFlush = find(calls, rename, (c) => c.name === "fsync" && c.path.endsWith(`/blobs/sha256/${hex.slice(0, 2)}`));
      const wal = find(calls, Math.max(dirFlush, rename), (c) => c.name === "fsync" && c.path.endsWith("metadata.db-wal"));
      const answer = find(calls, rename, (c) => c.name === "send" && c.data!.startsWith("HTTP/1.1 201"));
      if (!flushedBefore) problems.push(`${blob.descriptor.digest}: staged file not flushed before it was put in place`);
      if (dirFlush < 0 || dirFlush > answer) problems.push(`${blob.descriptor.digest}: blob directory not flushed before the 201`);
      if (wal < 0 || wal > answer) problems.push(`${blob.descriptor.digest}: metadata WAL not flushed before the 201`);
      at = answer + 1;
    }
    // The manifest: its row (in the WAL) is on disk before the 201.
    const answer = find(calls, at, (c) => c.name === "send" && c.data!.startsWith("HTTP/1.1 201"));
    const wal = find(calls, at, (c) => c.name === "fsync" && c.path.endsWith("metadata.db-wal"));
    if (answer < 0 || wal < 0 || wal > answer) problems.push("manifest: metadata WAL not flushed before the 201");
    expect(problems).toEqual([]);
    // Chunked uploads flush each chunk before answering it: the session offset is a promise.
    const chunkFlushes = calls.filter((c) => c.name === "fsync" && /\/uploads\/[0-9a-f-]{36}$/.test(c.path)).length;
    expect(chunkFlushes).toBeGreaterThanOrEqual(Math.ceil(image.blobs[2]!.descriptor.size / (64 * 1024)));
  });

  test("sync into a layout and an archive, and bundle create: each file is flushed before its rename, its directory after", async () => {
    const image = await generateImage({ name: "example.com/durable/app:1.0", seed: "durability-sync", layers: 2, layerSize: 50_000 });
    const source = join(work, "source");
    await writeOciLayout(source, [image]);
    await using serve = await startServe();
    await new PushClient(serve.url).pushImage("durable/app", "1.0", image, "monolithic");
    const runs = {
      "sync to oci:": ["sync", `oci:${source}`, `oci:${join(work, "layout-out")}`],
      "sync to oci-archive:": ["sync", `oci:${source}`, `oci-archive:${join(work, "archive-out.tar")}`],
      "bundle create": ["bundle", "create", `${serve.host}/durable/app:1.0`, "-o", join(work, "bundle-out.tar")],
    };
    const checks: Record<string, { code: number; problems: string[]; renames: number }> = {};
    for (const [what, args] of Object.entries(runs)) {
      const trace = join(work, `${what.replace(/\W+/g, "-")}.trace`);
      const result = await traced(args, trace);
      const calls = parseTrace(readFileSync(trace, "utf8"));
      const problems: string[] = [];
      let renames = 0;
      calls.forEach((c, i) => {
        if (c.name !== "rename") return;
        renames++;
        if (!calls.slice(0, i).some((f) => f.name === "fsync" && f.path === c.path)) problems.push(`${c.path} renamed without a flush`);
        const dir = c.target!.slice(0, c.target!.lastIndexOf("/"));
        if (find(calls, i, (f) => f.name === "fsync" && f.path === dir) < 0) problems.push(`${dir} not flushed after ${c.target}`);
      });
      checks[what] = { code: result.code, problems, renames: Math.min(renames, 1) };
    }
    const clean = { code: 0, problems: [], renames: 1 };
    expect(checks).toEqual({ "sync to oci:": clean, "sync to oci-archive:": clean, "bundle create": clean });
  });
});
