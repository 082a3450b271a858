/**
 * Progress for file bodies (blobs an oci:, store: or archive source offers
 * as a Blob): a registry destination sends them untouched and reports
 * progress itself, and so does a destination that writes blob files (it
 * also gets a transport's opened stream); any other destination gets a
 * counted stream, so progress moves while the bytes pass instead of
 * jumping at the end.
 */
import { expect, test } from "bun:test";
import type { Digest } from "../../../src/digest/index.ts";
import type { BlobInput } from "../../../src/oci/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import { generateImage } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { destination, Events, load, names, source, TracingHome } from "./fixtures.ts";

async function fileSource() {
  const image = await generateImage({ name: "docker.io/acme/app:1", layerSize: 300_000 });
  const home = new TracingHome("memory:source");
  await load(home, [image]);
  return { image, endpoint: source(home, names([image])) };
}

/** A destination that sends file bodies itself (as a registry does): half estimated, the rest when done. */
class SendingHome extends TracingHome {
  readonly sent: { digest: Digest; body: string }[] = [];
  async sendBlob(repository: string, blob: BlobInput, body: Blob, onProgress: (bytes: number, estimated: boolean) => void): Promise<void> {
    this.sent.push({ digest: blob.digest, body: body.constructor.name });
    const half = Math.floor(body.size / 2);
    onProgress(half, true);
    await this.putBlob(repository, blob, body);
    onProgress(body.size - half, false);
  }
}

test("a destination that sends file bodies gets the Blob, untouched, and its progress is the run's", async () => {
  const { image, endpoint } = await fileSource();
  const dest = new SendingHome("memory:dest");
  const events = new Events();
  const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener });
  expect(summary.images.synced).toBe(1);
  expect(dest.sent.map((s) => s.body)).toEqual(image.blobs.map(() => "Blob"));
  const { descriptor } = image.blobs.toSorted((a, b) => b.bytes.byteLength - a.bytes.byteLength)[0]!;
  const half = Math.floor(descriptor.size / 2);
  expect(events.of("blob-progress").filter((e) => e.digest === descriptor.digest)).toEqual([
    { type: "blob-progress", digest: descriptor.digest, bytes: half, estimated: true },
    { type: "blob-progress", digest: descriptor.digest, bytes: descriptor.size - half },
  ]);
  expect(events.of("blob-progress").reduce((n, e) => n + e.bytes, 0)).toBe(summary.bytes);
});

test("any other destination reads a counted stream of the file: progress arrives while the bytes pass", async () => {
  const { image, endpoint } = await fileSource();
  const events = new Events();
  const bodies: string[] = [];
  const seenBeforeEnd: number[] = [];
  class ReadingHome extends TracingHome {
    override async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
      bodies.push(body instanceof Blob ? "Blob" : "stream");
      const bytes = new Uint8Array(await new Response(body).arrayBuffer());
      // Every byte read is already counted, before this home says it has the blob.
      seenBeforeEnd.push(events.of("blob-progress").filter((e) => e.digest === blob.digest).reduce((n, e) => n + e.bytes, 0) - bytes.byteLength);
      return super.putBlob(repository, blob, new Blob([bytes]));
    }
  }
  const dest = new ReadingHome("memory:dest");
  const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener });
  expect(summary.images.synced).toBe(1);
  expect(bodies).toEqual(image.blobs.map(() => "stream"));
  expect(seenBeforeEnd).toEqual(image.blobs.map(() => 0));
  expect(events.of("blob-progress").reduce((n, e) => n + e.bytes, 0)).toBe(summary.bytes);
});

/** A destination that writes blob files itself (as a layout or a bundle does): the bodies it got, its own progress. */
class WritingHome extends TracingHome {
  readonly bodies: string[] = [];
  async writeBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob, onProgress: (bytes: number) => void): Promise<void> {
    this.bodies.push(body instanceof Blob ? "Blob" : "stream");
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    onProgress(bytes.byteLength);
    await super.putBlob(repository, blob, new Blob([bytes]));
  }
}

test("a destination that writes blob files gets the source's Blob, or its opened stream, and its progress is the run's", async () => {
  const { image, endpoint } = await fileSource();
  const dest = new WritingHome("memory:dest");
  const events = new Events();
  const summary = await syncImages(endpoint, destination(dest), { onEvent: events.listener });
  expect(summary.images.synced).toBe(1);
  expect(dest.bodies).toEqual(image.blobs.map(() => "Blob"));
  expect(events.of("blob-progress").reduce((n, e) => n + e.bytes, 0)).toBe(summary.bytes);

  // A transport's stream, opened by the engine with the run's signal.
  const opened: (AbortSignal | undefined)[] = [];
  const remote = new TracingHome("memory:remote");
  await load(remote, [image]);
  remote.blob = async (repository: string, digest: Digest) => {
    const content = await MemoryHome.prototype.blob.call(remote, repository, digest);
    return {
      digest,
      size: content.size,
      stream: content.stream,
      open: async (signal?: AbortSignal) => {
        opened.push(signal);
        return content.stream();
      },
    };
  };
  const again = new WritingHome("memory:again");
  const second = await syncImages(source(remote, names([image])), destination(again));
  expect(second.images.synced).toBe(1);
  expect(again.bodies).toEqual(image.blobs.map(() => "stream"));
  expect(opened.length).toBe(image.blobs.length);
  expect(opened.every((s) => s instanceof AbortSignal)).toBe(true);
});
