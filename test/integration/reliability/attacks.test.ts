/**
 * Hostile requests on a real socket to the real `serve` (raw HTTP, so no
 * client library tidies the path first):
 *
 * - path traversal through tags, digests, upload ids, mount parameters
 *   and list parameters (`../`, `%2e%2e`, encoded slashes and backslashes,
 *   NUL), with every method: a 4xx, never a 2xx or a 500, and not a file
 *   of the store (or beside it) created, changed or removed;
 * - oversized headers, URLs, manifests and admin bodies: refused with a
 *   4xx (413 for a manifest), and the server goes on serving;
 * - secrets stay out of the log: the admin token, and registry passwords
 *   or their base64, never appear on stderr, whatever the requests.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateImage, type GeneratedManifest } from "../../helpers/images.ts";
import { PushClient } from "../../helpers/push-client.ts";
import { run, type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

const TOKEN = "adm1n-t0ken-that-must-never-be-logged-8f3a9c";
const USER = "alice";
const PASSWORD = "pa55word-that-must-never-be-logged";
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

let work: string;
let serve: RunningServe;
let adminUrl: string;
let image: GeneratedManifest;
let sentinel: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-attacks-"));
  const tokenFile = join(work, "admin-token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  chmodSync(tokenFile, 0o600);
  const htpasswd = join(work, "htpasswd");
  writeFileSync(htpasswd, await run(["htpasswd", "-Bbn", "-C", "5", USER, PASSWORD]));
  // A file beside the store that traversal would reach first.
  sentinel = join(work, "sentinel");
  writeFileSync(sentinel, "keep me");
  serve = await startServe({
    root: join(work, "store"),
    args: ["--htpasswd", htpasswd, "--admin-addr", "127.0.0.1:0", "--admin-token-file", tokenFile],
  });
  adminUrl = (await serve.waitFor(/admin API on (http:\/\/\S+)/))[1]!;
  image = await generateImage({ seed: "attacks", layers: 1, layerSize: 2000 });
  await new PushClient(serve.url, { authorization: basic }).pushImage("app", "1.0", image, "post-put");
});
afterAll(async () => {
  await serve?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Send raw bytes on a fresh connection; resolves with the status line and body once the server closes. */
async function raw(request: string | Uint8Array): Promise<{ status: number; text: string }> {
  const { promise, resolve } = Promise.withResolvers<string>();
  let received = "";
  await Bun.connect({
    hostname: "127.0.0.1",
    port: serve.port,
    socket: {
      open(socket) {
        socket.write(request);
      },
      data(_socket, data) {
        received += data.toString("latin1");
      },
      close() {
        resolve(received);
      },
      error() {
        resolve(received);
      },
    },
  });
  const text = await promise;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text };
}

function request(method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}): string {
  const body = options.body ?? "";
  const headers = { Host: "x", Connection: "close", Authorization: basic, "Content-Length": String(Buffer.byteLength(body)), ...options.headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n${body}`;
}

/** Every file under the work directory (the store and what is beside it) with size and mtime, but for empty upload sessions. */
function tree(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(work, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith("metadata.db")) continue;
    const path = join(entry.parentPath, entry.name);
    const s = statSync(path);
    // An empty upload session (a mount answered with one) is no write; the upload TTL sweeps it.
    if (s.size === 0 && path.includes("/store/uploads/")) continue;
    out.push(`${path.slice(work.length)} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

describe("path traversal", () => {
  const UUID_LIKE = "00000000-0000-4000-8000-000000000000";
  const tricks = ["..%2F..%2Fmetadata.db", "..%2f..%2f..%2fsentinel", "%2e%2e", "%2E%2E%2F%2E%2E", "..%5C..%5Cmetadata.db", "..\\..\\metadata.db", "a%00b", "%00", "....%2F%2F", "%252e%252e%252f"];
  const paths = () => [
    ...tricks.map((t) => `/v2/app/manifests/${t}`),
    ...tricks.map((t) => `/v2/app/manifests/sha256:${t}`),
    ...tricks.map((t) => `/v2/app/blobs/sha256:${t}`),
    ...tricks.map((t) => `/v2/app/blobs/sha256%3A${t}`),
    ...tricks.map((t) => `/v2/app/blobs/uploads/${t}`),
    ...tricks.map((t) => `/v2/app/blobs/uploads/${UUID_LIKE}${t}`),
    ...tricks.map((t) => `/v2/app/referrers/sha256:${t}`),
  ];
  // Query parameters are values, not paths: a bad one may be answered (a session instead of a mount, an empty page), never obeyed.
  const parameters = () => [
    `/v2/app/blobs/uploads/?mount=sha256:..%2F..%2Fmetadata.db&from=..%2F..%2Fetc`,
    `/v2/app/blobs/uploads/?mount=${image.blobs[0]!.descriptor.digest}&from=..%2Fapp`,
    `/v2/app/blobs/uploads/?digest=sha256:..%2F..%2Fsentinel`,
    `/v2/app/tags/list?last=..%2F..%2F..&n=1`,
    `/v2/_catalog?last=%00..%2F&n=1`,
  ];

  test("through tags, digests, upload ids, mounts and list parameters, with every method: a 4xx, and no file touched", async () => {
    const before = tree();
    const answers: string[] = [];
    for (const [path, kind] of [...paths().map((p) => [p, "path"] as const), ...parameters().map((p) => [p, "parameter"] as const)]) {
      for (const method of ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"]) {
        const { status } = await raw(request(method, path, ["PUT", "PATCH", "POST"].includes(method) ? { body: "payload" } : {}));
        const refused = status >= 400 && status < 500;
        const harmless = kind === "parameter" && (status === 200 || status === 202);
        if (!refused && !harmless) answers.push(`${method} ${path}: ${status}`);
      }
    }
    expect(answers).toEqual([]);
    expect(tree()).toEqual(before);
    expect(await Bun.file(sentinel).text()).toBe("keep me");
    // And the store still serves what it holds.
    await new PushClient(serve.url, { authorization: basic }).pullImage("app", "1.0", image.descriptor.digest);
  });
});

describe("oversized input", () => {
  test("headers and URLs past the limits: refused with a 4xx; the server goes on", async () => {
    const cases = {
      "a 128 KiB header": request("GET", "/v2/", { headers: { "X-Big": "a".repeat(128 * 1024) } }),
      "10,000 headers": `GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`,
      "a 256 KiB URL": request("GET", `/v2/${"a/".repeat(128 * 1024)}tags/list`),
      "a 1 MiB Authorization": request("GET", "/v2/", { headers: { Authorization: `Basic ${"A".repeat(1024 * 1024)}` } }),
    };
    const statuses: Record<string, number | string> = {};
    for (const [name, text] of Object.entries(cases)) {
      const { status } = await raw(text);
      // 0: the server closed the connection without an answer, also a refusal.
      statuses[name] = status === 0 || (status >= 400 && status < 500) ? "refused" : status;
    }
    expect(statuses).toEqual(Object.fromEntries(Object.keys(cases).map((k) => [k, "refused"])));
    expect((await fetch(`${serve.url}/v2/`, { headers: { Authorization: basic } })).status).toBe(200);
  });

  test("a manifest past 4 MiB: 413 before the body is read, whatever Content-Length claims; nothing stored", async () => {
    const declared = await raw(request("PUT", "/v2/app/manifests/huge", {
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Content-Length": String(64 * 1024 * 1024) },
    }));
    expect(declared.status).toBe(413);
    const big = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", annotations: { a: "x".repeat(5 * 1024 * 1024) } });
    const chunked = await fetch(`${serve.url}/v2/app/manifests/huge`, {
      method: "PUT",
      body: new Blob([big]).stream(),
      headers: { Authorization: basic, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(chunked.status).toBe(413);
    expect((await fetch(`${serve.url}/v2/app/manifests/huge`, { method: "HEAD", headers: { Authorization: basic } })).status).toBe(404);
  });

  test("an admin request body past 1 MiB: refused, the admin API goes on", async () => {
    const res = await fetch(`${adminUrl}/api/v1/gc`, {
      method: "POST",
      body: JSON.stringify({ keep: ["x".repeat(2 * 1024 * 1024)] }),
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect((await fetch(`${adminUrl}/healthz`)).status).toBe(200);
  });
});

describe("secrets stay out of the log", () => {
  test("the admin token and registry passwords never appear on stderr", async () => {
    const encoded = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
    const token64 = Buffer.from(TOKEN).toString("base64");
    // Right and wrong tokens, in the header and (wrongly) in the URL; bad JSON; unknown routes.
    for (const authorization of [`Bearer ${TOKEN}`, `Bearer ${TOKEN}x`, `bearer ${TOKEN}`, `Basic ${token64}`, TOKEN]) {
      for (const path of ["/metrics", "/api/v1/repositories", "/api/v1/jobs/nope", `/api/v1/repositories?token=${TOKEN}`, "/api/v1/unknown"]) {
        await (await fetch(`${adminUrl}${path}`, { headers: { Authorization: authorization } })).arrayBuffer();
      }
      await (await fetch(`${adminUrl}/api/v1/sync`, { method: "POST", body: "{not json", headers: { Authorization: authorization } })).arrayBuffer();
    }
    // Registry requests with right and wrong passwords, and a password where a user name goes.
    for (const authorization of [basic, `Basic ${Buffer.from(`${USER}:${PASSWORD}x`).toString("base64")}`, `Basic ${Buffer.from(`${PASSWORD}:x`).toString("base64")}`]) {
      await (await fetch(`${serve.url}/v2/app/manifests/1.0`, { headers: { Authorization: authorization } })).arrayBuffer();
      await (await fetch(`${serve.url}/v2/app/manifests/nope?password=${PASSWORD}`, { headers: { Authorization: authorization } })).arrayBuffer();
    }
    await serve.waitFor(/manifests\/nope/);
    const log = serve.log();
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, token64, PASSWORD, encoded]) expect({ secret, logged: log.includes(secret) }).toEqual({ secret, logged: false });
  });
});
