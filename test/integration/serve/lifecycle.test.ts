/**
 * `stevedore serve` as a process: clean stop on SIGTERM (finishing what is
 * in flight), content that survives a restart and a kill -9 in the middle of
 * an upload, and clear errors for bad flags.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { randomBytes } from "../../helpers/images.ts";
import { startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

function tempRoot(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), "stevedore-lifecycle-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** A request body that sends `first`, then waits for `release()` before sending `rest`. */
function heldBody(first: Uint8Array, rest: Uint8Array) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let sentFirst!: () => void;
  const started = new Promise<void>((r) => {
    sentFirst = r;
  });
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(first);
      sentFirst();
      await released;
      controller.enqueue(rest);
      controller.close();
    },
  });
  return { body, release, started };
}

describe("serve lifecycle", () => {
  test("SIGTERM lets an in-flight upload finish, then exits 0; the content is there after a restart", async () => {
    using root = tempRoot();
    const serve = await startServe({ root: root.path });
    const bytes = randomBytes("graceful", 2 * 1024 * 1024);
    const digest = digestOf(bytes);
    const held = heldBody(bytes.subarray(0, 1024 * 1024), bytes.subarray(1024 * 1024));
    // The handler creates a staged file as it starts: that is when the request is in flight.
    const { promise: inHandler, resolve: handlerStarted } = Promise.withResolvers<void>();
    const watcher = watch(join(root.path, "uploads"), () => handlerStarted());
    const upload = fetch(`${serve.url}/v2/app/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: held.body,
      headers: { "Content-Length": String(bytes.byteLength) },
      duplex: "half",
    } as RequestInit);
    await inHandler;
    watcher.close();
    const stopped = serve.stop();
    held.release();
    expect((await upload).status).toBe(201);
    expect(await stopped).toBe(0);
    expect(serve.log()).toContain("stevedore: stopping");

    await using again = await startServe({ root: root.path });
    const res = await fetch(`${again.url}/v2/app/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toBe(digest);
  });

  test("kill -9 during an upload: committed content intact, the session resumes after restart", async () => {
    using root = tempRoot();
    const first = await startServe({ root: root.path });
    const small = new TextEncoder().encode("committed before the crash");
    const smallDigest = digestOf(small);
    expect((await fetch(`${first.url}/v2/app/blobs/uploads/?digest=${smallDigest}`, { method: "POST", body: small })).status).toBe(201);

    const bytes = randomBytes("crash", 3 * 1024 * 1024);
    const digest = digestOf(bytes);
    const post = await fetch(`${first.url}/v2/app/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location")!;
    const chunk = await fetch(`${first.url}${location}`, {
      method: "PATCH",
      body: bytes.subarray(0, 1024 * 1024),
      headers: { "Content-Range": `0-${1024 * 1024 - 1}` },
    });
    expect(chunk.status).toBe(202);
    // A second chunk is half sent when the process dies.
    const held = heldBody(bytes.subarray(1024 * 1024, 1536 * 1024), bytes.subarray(1536 * 1024, 2 * 1024 * 1024));
    const inflight = fetch(`${first.url}${location}`, { method: "PATCH", body: held.body, duplex: "half" } as RequestInit).catch(
      (error: Error) => error,
    );
    await held.started;
    await first.kill();
    held.release();
    await inflight;

    await using second = await startServe({ root: root.path });
    const kept = await fetch(`${second.url}/v2/app/blobs/${smallDigest}`);
    expect(await kept.text()).toBe("committed before the crash");
    expect((await fetch(`${second.url}/v2/app/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    // The session stands at the last acknowledged chunk; the client resumes from there.
    const status = await fetch(`${second.url}${location}`);
    expect([status.status, status.headers.get("range")]).toEqual([204, `0-${1024 * 1024 - 1}`]);
    const finish = await fetch(`${second.url}${location}?digest=${digest}`, {
      method: "PUT",
      body: bytes.subarray(1024 * 1024),
      headers: { "Content-Range": `${1024 * 1024}-${bytes.byteLength - 1}` },
    });
    expect(finish.status).toBe(201);
    const got = await fetch(`${second.url}/v2/app/blobs/${digest}`);
    expect(digestOf(new Uint8Array(await got.arrayBuffer()))).toBe(digest);
  });
});

describe("serve flags", () => {
  test("bad flags are usage errors (exit 2) and unreadable files failures (exit 1), each one clear line", async () => {
    using root = tempRoot();
    const md5 = join(root.path, "md5.htpasswd");
    writeFileSync(md5, "bob:$apr1$x$abcdefghijklmnopqrstuv\n");
    const cases: [string[], number, string][] = [
      [["--addr", "nope"], 2, 'invalid --addr "nope"'],
      [["--addr", "127.0.0.1:99999"], 2, "invalid --addr"],
      [["--tls-cert", "c.pem"], 2, "--tls-cert and --tls-key go together"],
      [["--log-format", "xml"], 2, "--log-format must be text or json"],
      [["--upload-ttl", "soon"], 2, "--upload-ttl: invalid duration"],
      [["--htpasswd", join(root.path, "missing")], 1, `Cannot read htpasswd file ${JSON.stringify(join(root.path, "missing"))}: no such file`],
      [["--htpasswd", md5], 1, 'user "bob" has no bcrypt hash'],
      [["--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"], 1, 'Cannot read TLS file "/nonexistent.crt": no such file'],
    ];
    for (const [args, code, message] of cases) {
      const result = await cli(["serve", "--root", join(root.path, "store"), ...args]);
      expect([args, result.code]).toEqual([args, code]);
      expect(result.stderr).toContain(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test("a port in use is a clear failure", async () => {
    await using serve = await startServe();
    using root = tempRoot();
    const result = await cli(["serve", "--addr", serve.host, "--root", root.path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Cannot listen on ${serve.host}: the address is in use`);
  });
});
