/** A declared size is held to: right bytes under a wrong size are refused, and nothing is committed. */
import { describe, expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { digestOf } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { miniRegistry } from "./mini-registry.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, certDirs: [], env: {} };
const data = crypto.getRandomValues(new Uint8Array(3000));
const digest = digestOf(data);
/** A stream of `bytes` in pieces, as a file or network stream arrives. */
const streamOf = (bytes: Uint8Array, piece = 700) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.byteLength; i += piece) controller.enqueue(bytes.slice(i, i + piece));
      controller.close();
    },
  });

async function sizeError(promise: Promise<unknown>): Promise<OciError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OciError);
  expect((error as OciError).code).toBe("SIZE_INVALID");
  return error as OciError;
}

describe("a Blob or bytes of another size than declared", () => {
  for (const [name, body] of [
    ["Blob", new Blob([data])],
    ["bytes", data],
  ] as const) {
    test(`${name}: refused before any request`, async () => {
      using registry = miniRegistry();
      const client = RegistryClient.open(registry.host, fast);
      for (const size of [2999, 3001]) {
        const error = await sizeError(client.uploadBlob("app", { digest, size }, body));
        expect(error.message).toBe(`Cannot upload ${digest} to ${registry.host}/app: the blob is declared as ${size} bytes but its content is 3000 bytes`);
      }
      expect(registry.requests).toEqual([]);
    });
  }

  test("a function body that opens the wrong length is refused; the session is cancelled", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    await sizeError(client.uploadBlob("app", { digest, size: 3001 }, (offset) => new Blob([data]).slice(offset)));
    expect(registry.blobs.size).toBe(0);
    expect(registry.uploads.size).toBe(0);
  });
});

describe("a stream is counted as it passes", () => {
  const cases = [
    // Right bytes, declared one byte more: the stream ends short.
    { name: "ends short of the declared size", size: 3001, chunkSize: undefined },
    // Right bytes, declared fewer: cut off before the excess is sent.
    { name: "runs over the declared size", size: 2000, chunkSize: undefined },
    { name: "ends short, chunked", size: 3001, chunkSize: 1000 },
    { name: "runs over, chunked", size: 2000, chunkSize: 1000 },
  ];
  for (const { name, size, chunkSize } of cases) {
    test(`${name}: SIZE_INVALID, nothing committed, the upload session deleted`, async () => {
      using registry = miniRegistry();
      const client = RegistryClient.open(registry.host, fast);
      const error = await sizeError(client.uploadBlob("app", { digest, size }, streamOf(data), chunkSize ? { chunkSize } : {}));
      expect(error.message).toStartWith(`Cannot upload ${digest} to ${registry.host}/app: the blob is declared as ${size} bytes`);
      expect(registry.blobs.size).toBe(0);
      expect(registry.uploads.size).toBe(0);
      const methods = registry.requests.map((r) => r.method);
      expect(methods.at(-1)).toBe("DELETE");
      // No PUT ever finished the upload.
      expect(registry.requests.some((r) => r.method === "PUT")).toBe(false);
    });
  }

  test("a single-request POST of a stream that ends short fails with SIZE_INVALID", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    await sizeError(client.uploadBlob("app", { digest, size: 3500 }, streamOf(data), { monolithicPost: true }));
    expect(registry.blobs.size).toBe(0);
  });

  test("a stream of the declared size goes through", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    await client.uploadBlob("app", { digest, size: 3000 }, streamOf(data));
    await client.uploadBlob("chunked", { digest, size: 3000 }, streamOf(data), { chunkSize: 1000 });
    expect(await client.headBlob("app", digest)).toBe(3000);
    expect(await client.headBlob("chunked", digest)).toBe(3000);
  });
});
