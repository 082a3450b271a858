/**
 * Bad input as it arrives on a real socket: bodies cut short of their
 * Content-Length, encoded slashes and dot segments in names. Each gets its
 * error, and nothing partial stays on disk.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

let serve: RunningServe;
beforeAll(async () => {
  serve = await startServe();
});
afterAll(async () => {
  expect(await serve.stop()).toBe(0);
});

/** Send raw bytes on a fresh connection; resolves with what came back when the server closes or `close` is true. */
async function raw(request: string | Uint8Array, options: { closeAfterSend?: boolean } = {}): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>();
  let received = "";
  await Bun.connect({
    hostname: "127.0.0.1",
    port: serve.port,
    socket: {
      open(socket) {
        socket.write(request);
        if (options.closeAfterSend) socket.end();
      },
      data(_socket, data) {
        received += data.toString();
      },
      close() {
        resolve(received);
      },
      error() {
        resolve(received);
      },
    },
  });
  return promise;
}

test("a body cut short of its Content-Length leaves no blob and no staged bytes", async () => {
  const bytes = new Uint8Array(4096).fill(7);
  const digest = digestOf(bytes);
  const head =
    `POST /v2/app/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes.byteLength}\r\n` +
    "Content-Type: application/octet-stream\r\n\r\n";
  await raw(Buffer.concat([Buffer.from(head), Buffer.from(bytes.subarray(0, 1000))]), { closeAfterSend: true });
  await serve.waitFor(/POST \/v2\/app\/blobs\/uploads\/ [45]\d\d /);
  expect((await fetch(`${serve.url}/v2/app/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
  expect(readdirSync(join(serve.root, "uploads"))).toEqual([]);
  expect(readdirSync(join(serve.root, "blobs"))).toEqual([]);
});

test("a chunk cut short leaves the session at its last complete chunk", async () => {
  const post = await fetch(`${serve.url}/v2/app/blobs/uploads/`, { method: "POST" });
  const location = post.headers.get("location")!;
  await fetch(`${serve.url}${location}`, { method: "PATCH", body: "complete", headers: { "Content-Range": "0-7" } });
  const head = `PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nContent-Range: 8-107\r\n\r\n`;
  await raw(`${head}only part of it`, { closeAfterSend: true });
  await serve.waitFor(new RegExp(`PATCH ${location} [45]\\d\\d `));
  const status = await fetch(`${serve.url}${location}`);
  expect(status.headers.get("range")).toBe("0-7");
});

test("encoded slashes and dots in names never reach the store", async () => {
  for (const path of ["/v2/a%2Fb/tags/list", "/v2/a%2fb/manifests/latest", "/v2/a/%2E%2E%2F%2E%2E/tags/list", "/v2/a%00b/tags/list"]) {
    const response = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([path, response.split("\r\n")[0]]).toEqual([path, "HTTP/1.1 400 Bad Request"]);
    expect(response).toContain('"code":"NAME_INVALID"');
  }
  // Dot segments are resolved by the URL parser: they can only name another path under /v2/.
  for (const path of ["/v2/x/../../../etc/passwd", "/v2/%2e%2e/manifests/latest", "/v2/x/%2e%2e/%2e%2e/metadata.db"]) {
    const response = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([path, response.split("\r\n")[0]]).toEqual([path, "HTTP/1.1 404 Not Found"]);
  }
});
