/** Small hand-made OCI content for store and registry tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { MediaType } from "../../../src/oci/index.ts";

export interface TestBlob {
  digest: Digest;
  size: number;
  bytes: Uint8Array<ArrayBuffer>;
  mediaType: string;
}

export function blob(text: string | Uint8Array<ArrayBuffer>, mediaType: string = MediaType.ociLayerGzip): TestBlob {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  return { digest: digestOf(bytes), size: bytes.byteLength, bytes, mediaType };
}

export function descriptor(b: { digest: Digest; size: number; mediaType: string }, extra: Record<string, unknown> = {}) {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

export interface TestManifest {
  digest: Digest;
  bytes: Uint8Array<ArrayBuffer>;
  mediaType: string;
  size: number;
}

export function manifestOf(value: unknown, mediaType: string): TestManifest {
  const bytes = new TextEncoder().encode(JSON.stringify(value, null, 2));
  return { digest: digestOf(bytes), bytes, mediaType, size: bytes.byteLength };
}

/** An image manifest over a config and layers; `extra` adds subject, artifactType, annotations. */
export function imageManifest(config: TestBlob, layers: TestBlob[], extra: Record<string, unknown> = {}): TestManifest {
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptor(config),
      layers: layers.map((l) => descriptor(l)),
      ...extra,
    },
    MediaType.ociManifest,
  );
}

export function imageIndex(children: (TestManifest & { platform?: unknown })[], extra: Record<string, unknown> = {}): TestManifest {
  return manifestOf(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: children.map((c) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.size,
        ...(c.platform ? { platform: c.platform } : {}),
      })),
      ...extra,
    },
    MediaType.ociIndex,
  );
}

export function configBlob(text = "linux/amd64"): TestBlob {
  const [os, architecture] = text.split("/");
  return blob(JSON.stringify({ architecture, os, rootfs: { type: "layers", diff_ids: [] } }), MediaType.ociConfig);
}

/** A temporary directory removed by `await using`. */
export async function tempDir(prefix = "stevedore-test-"): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoded = chunks.map((c) => (typeof c === "string" ? new TextEncoder().encode(c) : c));
  return new ReadableStream({
    start(controller) {
      for (const c of encoded) controller.enqueue(c);
      controller.close();
    },
  });
}

/** A stream that yields `chunks` and then fails, as a dropped connection does. */
export function failingStream(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoded = chunks.map((c) => (typeof c === "string" ? new TextEncoder().encode(c) : c));
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < encoded.length) controller.enqueue(encoded[i++]!);
      else controller.error(new Error("connection reset"));
    },
  });
}

export async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}
