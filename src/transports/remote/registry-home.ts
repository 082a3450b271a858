/**
 * A registry as an image home (`docker://HOST`): the image interface
 * spoken over the Distribution API. Repository names are paths on that
 * registry. Uploads stream with the digest in the final PUT; the registry
 * verifies it, so bytes pass through here without a second hash. The
 * declared size is the client's to hold (registries only check the digest),
 * and lists come back sorted and paged even from registries that ignore
 * `n` and `last`.
 */
import { RegistryClient, type RegistryClientOptions, type UploadOptions, type UploadSession } from "../../client/index.ts";
import type { Digest } from "../../digest/index.ts";
import {
  type BlobContent,
  type BlobInput,
  type BlobMounter,
  type BlobSender,
  type ByteRange,
  type Closable,
  type ContentDeleter,
  type Descriptor,
  type ImageHome,
  type ListOptions,
  type ManifestContent,
  OciError,
  type ReferrersLister,
} from "../../oci/index.ts";

/** Sessions a mount opened (202) and the next upload of that blob will use; bounded. */
const PENDING_SESSIONS_MAX = 1024;

/**
 * sendBlob: progress for a file body. It goes in one request by sendfile,
 * as fast as the registry takes it, and that request says nothing until it
 * ends. Sending it in chunks would make each confirmed chunk true progress,
 * but against stevedore serve the chunked path costs about a tenth of the
 * throughput on a fast link. So while the request runs, the bytes are
 * estimated at the rate this registry took the last uploads of at least
 * `learnFrom` bytes, every `intervalMs`, never past `cap` of the size; the
 * registry's answer settles the count. Before any such upload ended there
 * is no rate, and no estimate.
 */
export const PROGRESS_ESTIMATE = { intervalMs: 500, cap: 0.95, learnFrom: 1024 * 1024 };

export interface RegistryHomeOptions {
  /** How uploads are sent (chunk size for flaky links, single POST). */
  upload?: Omit<UploadOptions, "session">;
  /** In place of PROGRESS_ESTIMATE (tests use short intervals). */
  progressEstimate?: typeof PROGRESS_ESTIMATE;
}

export class RegistryHome implements ImageHome, BlobMounter, BlobSender, ReferrersLister, ContentDeleter, Closable {
  readonly client: RegistryClient;
  readonly description: string;
  readonly #options: RegistryHomeOptions;
  readonly #sessions = new Map<string, UploadSession>();
  /** Bytes per second of recent uploads (each on its own, as they shared the link); for progress estimates. */
  #rate: number | undefined;

  constructor(client: RegistryClient, options: RegistryHomeOptions = {}) {
    this.client = client;
    this.description = `docker://${client.registry}`;
    this.#options = options;
  }

  /** The registry as references name it (`host:port`). */
  get registry(): string {
    return this.client.registry;
  }

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const descriptor = await this.client.headManifest(repository, reference);
    if (!descriptor) {
      throw new OciError("MANIFEST_UNKNOWN", `${this.registry}/${repository}${reference.includes(":") ? "@" : ":"}${reference}: manifest unknown to registry`);
    }
    return descriptor;
  }

  manifest(repository: string, reference: string): Promise<ManifestContent> {
    return this.client.getManifest(repository, reference);
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    const size = await this.client.headBlob(repository, digest);
    if (size === undefined) throw new OciError("BLOB_UNKNOWN", `${this.registry}/${repository}@${digest}: blob unknown to registry`);
    return {
      digest,
      size,
      stream: (range?: ByteRange) => lazyStream(() => this.client.getBlob(repository, digest, range)),
      open: (signal?: AbortSignal) => this.client.getBlob(repository, digest, undefined, { size, ...(signal ? { signal } : {}) }),
    };
  }

  statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    return this.client.headBlob(repository, digest);
  }

  async hasManifest(repository: string, digest: Digest): Promise<boolean> {
    return (await this.client.headManifest(repository, digest)) !== undefined;
  }

  /** Sorted, with `last` and `limit` kept even by registries that ignore them (the client pages with care). */
  repositories(options?: ListOptions): Promise<string[]> {
    return this.client.repositories(options);
  }

  tags(repository: string, options?: ListOptions): Promise<string[]> {
    return this.client.tags(repository, options);
  }

  /**
   * Upload a blob. A Blob body (a file, a slice of an archive) is sent
   * without copying and can be resumed after a dropped connection; a stream
   * is sent once, so its caller retries by opening the source again.
   */
  async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    const started = performance.now();
    await this.#upload(repository, blob, body);
    if (blob.size !== undefined) this.#learn(blob.size, performance.now() - started);
  }

  /**
   * Upload a file body with progress: estimated while the one request
   * runs (see PROGRESS_ESTIMATE), or, when uploads go in chunks (the
   * `upload.chunkSize` option), each chunk the registry confirms.
   */
  async sendBlob(repository: string, blob: BlobInput, body: Blob, onProgress: (bytes: number, estimated: boolean) => void): Promise<void> {
    const chunked = this.#options.upload?.chunkSize !== undefined;
    let reported = 0;
    const report = (total: number, estimated: boolean) => {
      if (total === reported) return;
      onProgress(total - reported, estimated);
      reported = total;
    };
    const started = performance.now();
    const estimate = chunked ? undefined : this.#estimate(body.size, started, (total) => total > reported && report(total, true));
    try {
      await this.#upload(repository, blob, body, chunked ? { onProgress: (committed) => report(committed, false) } : {});
    } catch (error) {
      // Nothing of a failed upload counts.
      report(0, false);
      throw error;
    } finally {
      estimate?.stop();
    }
    this.#learn(body.size, performance.now() - started);
    report(body.size, false);
  }

  #upload(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob, extra: Pick<UploadOptions, "onProgress"> = {}): Promise<void> {
    const key = `${repository}@${blob.digest}`;
    const session = this.#sessions.get(key);
    this.#sessions.delete(key);
    return this.client.uploadBlob(repository, blob, body, { ...this.#options.upload, ...extra, ...(session ? { session } : {}) });
  }

  /** Report, every interval, the bytes an upload of `size` started at `started` has probably sent. */
  #estimate(size: number, started: number, report: (total: number) => void): { stop(): void } {
    const { intervalMs, cap } = this.#options.progressEstimate ?? PROGRESS_ESTIMATE;
    const timer = setInterval(() => {
      if (this.#rate !== undefined) report(Math.floor(Math.min(size * cap, (this.#rate * (performance.now() - started)) / 1000)));
    }, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** Remember the rate of an upload large enough to say something about the link rather than round trips. */
  #learn(size: number, ms: number): void {
    const { learnFrom } = this.#options.progressEstimate ?? PROGRESS_ESTIMATE;
    if (size < learnFrom || ms <= 0) return;
    const rate = (size * 1000) / ms;
    this.#rate = this.#rate === undefined ? rate : (this.#rate + rate) / 2;
  }

  putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    return this.client.putManifest(repository, reference, content);
  }

  async mountBlob(repository: string, fromRepository: string | undefined, digest: Digest): Promise<boolean> {
    const result = await this.client.mountBlob(repository, fromRepository, digest);
    if (result.mounted) return true;
    if (result.session) {
      // The registry opened an upload instead: keep it for the putBlob that follows.
      if (this.#sessions.size >= PENDING_SESSIONS_MAX) this.#sessions.delete(this.#sessions.keys().next().value!);
      this.#sessions.set(`${repository}@${digest}`, result.session);
    }
    return false;
  }

  referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    return this.client.referrers(repository, subject, artifactType);
  }

  deleteManifest(repository: string, digest: Digest): Promise<void> {
    return this.client.deleteManifest(repository, digest);
  }

  deleteTag(repository: string, tag: string): Promise<void> {
    return this.client.deleteManifest(repository, tag);
  }

  deleteBlob(repository: string, digest: Digest): Promise<void> {
    return this.client.deleteBlob(repository, digest);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** The registry at `host[:port]` as a home; TLS material and credentials are found as docker and podman find them. */
export function openRegistry(registry: string, options: RegistryClientOptions & RegistryHomeOptions = {}): RegistryHome {
  return new RegistryHome(RegistryClient.open(registry, options), options);
}

/** A stream whose request starts when it is created and whose errors arrive through it. */
function lazyStream(open: () => Promise<ReadableStream<Uint8Array>>): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async start() {
        reader = (await open()).getReader();
      },
      async pull(controller) {
        const { done, value } = await reader!.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader?.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
