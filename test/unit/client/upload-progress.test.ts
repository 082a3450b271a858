/** Chunked uploads report what the registry confirmed: after each chunk, and where a resumed upload stands. */
import { expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { digestOf } from "../../../src/digest/index.ts";
import { miniRegistry } from "./mini-registry.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 50 }, certDirs: [], env: {} };
const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));

test("after each chunk the registry confirms, the bytes it holds", async () => {
  using registry = miniRegistry();
  const client = RegistryClient.open(registry.host, fast);
  const data = randomBytes(2500);
  const digest = digestOf(data);
  const committed: number[] = [];
  await client.uploadBlob("app", { digest, size: data.byteLength }, new Blob([data]), { chunkSize: 1000, onProgress: (n) => committed.push(n) });
  expect(committed).toEqual([1000, 2000, 2500]);
  expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
});

test("a chunk lost on the way: progress goes back to what the registry holds, then on", async () => {
  using registry = miniRegistry();
  const client = RegistryClient.open(registry.host, fast);
  const data = randomBytes(3000);
  const digest = digestOf(data);
  let failed = false;
  registry.fault((request) => {
    if (request.method === "PATCH" && request.headers.get("content-range") === "2000-2999" && !failed) {
      failed = true;
      return new Response("gone", { status: 503 });
    }
    return undefined;
  });
  const committed: number[] = [];
  await client.uploadBlob("app", { digest, size: data.byteLength }, new Blob([data]), { chunkSize: 1000, onProgress: (n) => committed.push(n) });
  expect(committed).toEqual([1000, 2000, 2000, 3000]);
  expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
});
