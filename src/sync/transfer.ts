/**
 * Carrying out a plan. Every image runs at once; the limiters decide what
 * actually moves: blob uploads share the transfer pool, manifests, mounts
 * and HEADs the small-request pool. Each (repository, blob) and each
 * (repository, manifest digest) is one flight for the whole run.
 *
 * Per image, the order is the one registries need and resume relies on:
 * blobs, then child manifests by digest, then the index, then the tag. A
 * manifest is only pushed when everything below it is in place, so a run
 * killed at any instant leaves nothing a re-run would trust wrongly: the
 * next plan finds the finished parts (HEAD by digest) and moves the rest.
 *
 * Verification: every blob is verified exactly once on its way from the
 * source to the destination, by the destination. That is the contract of
 * ImageWriter.putBlob (each home hashes while the bytes stream and makes
 * the blob visible only on a match; a registry does the same with the
 * `?digest=` of the upload), so the engine does not hash blobs again: a
 * second hash would cost a core per stream and rule out the zero-copy file
 * bodies. (A local file home verifies what it wrote on a worker thread,
 * before the blob is visible: see BlobFileWriter.) A mismatch surfaces as
 * the putBlob error, and fails the image.
 * Manifests are checked by the planner when read (plan.ts).
 */
import { type Digest, DigestError } from "../digest/index.ts";
import { canMount, canSendBlobs, canWriteBlobFiles, OciError } from "../oci/index.ts";
import type { SyncContext } from "./context.ts";
import { StepError, describeError } from "./describe-error.ts";
import type { ImageOutcome, SyncSummary } from "./events.ts";
import { type BlobPlan, contentKey, type ImagePlan, type ManifestNode, type SyncPlan } from "./plan.ts";
import { settleAll, untilAborted } from "./settle.ts";
import { SingleFlight } from "./single-flight.ts";
import { streamTap } from "./stream-tap.ts";

/** Attempts per streamed blob upload, and the first backoff step (doubling, with jitter). */
export const BLOB_RETRY = { attempts: 3, baseDelayMs: 500 };

/** Failures that may heal by trying again; content that does not match its digest never does. */
function isTransient(error: unknown): boolean {
  if (error instanceof DigestError) return false;
  if (error instanceof OciError) {
    return error.status === 408 || error.status === 429 || (error.status >= 500 && error.status !== 501 && error.status !== 505);
  }
  return true;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return untilAborted(Bun.sleep(ms), signal);
}

export async function transfer(ctx: SyncContext, plan: SyncPlan, startedAt: number): Promise<SyncSummary> {
  const run = new Transfer(ctx, plan);
  await Promise.all(plan.images.map((image) => run.image(image)));
  return run.summary(startedAt);
}

class Transfer {
  readonly #blobs = new SingleFlight<void>();
  readonly #manifests = new SingleFlight<void>();
  readonly #outcomes = new Map<ImagePlan, ImageOutcome | "failed" | "cancelled">();
  #pushed = 0;
  #mounted = 0;
  #manifestsPushed = 0;
  #bytes = 0;
  readonly #failures: { image: string; error: string }[] = [];

  constructor(
    readonly ctx: SyncContext,
    readonly plan: SyncPlan,
  ) {}

  async image(image: ImagePlan): Promise<void> {
    const { ctx } = this;
    if (image.action === "failed" || image.action === "cancelled") {
      this.#outcomes.set(image, image.action);
      if (image.action === "failed") this.#failures.push({ image: image.image, error: image.error ?? "failed" });
      return;
    }
    try {
      ctx.signal.throwIfAborted();
      const outcome = await this.#image(image);
      this.#outcomes.set(image, outcome);
      ctx.emit({ type: "image-done", image: image.image, target: image.targetName!, digest: image.digest!, outcome });
    } catch (error) {
      if (ctx.signal.aborted) {
        this.#outcomes.set(image, "cancelled");
        ctx.emit({ type: "image-cancelled", image: image.image, target: image.targetName });
        return;
      }
      const message = describeError(error);
      this.#outcomes.set(image, "failed");
      this.#failures.push({ image: image.image, error: message });
      ctx.emit({ type: "image-failed", image: image.image, target: image.targetName, error: message });
      ctx.failed();
    }
  }

  async #image(image: ImagePlan): Promise<ImageOutcome> {
    const target = image.target!;
    if (image.action === "present") return "present";
    const root = image.root!;
    if (image.action === "tag") {
      await this.#putManifest(target.repository, root, target.tag!);
      return "tagged";
    }
    // The tag goes with the root's own push, unless referrers must land between them.
    const tagWithRoot = target.tag !== undefined && !root.present && root.referrers.length === 0;
    await this.#tree(target.repository, root, tagWithRoot ? target.tag : undefined);
    if (target.tag && !tagWithRoot && !image.tagPresent) await this.#putManifest(target.repository, root, target.tag);
    return "copied";
  }

  /** Children and blobs, then the manifest, then its referrers. */
  async #tree(repository: string, node: ManifestNode, tag?: string): Promise<void> {
    if (!node.present) {
      await settleAll([
        ...node.children.map((child) => this.#tree(repository, child)),
        ...node.blobs.map((d) => this.#blob(this.plan.blobs.get(contentKey(repository, d.digest))!)),
      ]);
      if (tag) await this.#putManifest(repository, node, tag);
      else await this.#manifests.run(contentKey(repository, node.digest), () => this.#putManifest(repository, node, node.digest));
    }
    await settleAll(node.referrers.map((r) => this.#tree(repository, r)));
  }

  #blob(blob: BlobPlan): Promise<void> {
    return this.#blobs.run(contentKey(blob.repository, blob.digest), async () => {
      if (blob.action === "skip") return;
      this.ctx.signal.throwIfAborted();
      if (blob.action === "mount" && blob.from !== undefined) {
        // The holder may be getting the blob in this run: wait for that one flight.
        const holder = this.plan.blobs.get(contentKey(blob.from, blob.digest));
        if (holder && holder.action !== "skip") await this.#blob(holder);
        if (await this.#mount(blob, blob.from)) return;
      }
      await this.#upload(blob);
    });
  }

  /**
   * A mount that does not happen (refused, or an error) falls back to an
   * upload: it is only a shortcut. `from` undefined asks the destination to
   * find the blob anywhere it holds it (see #upload).
   */
  async #mount(blob: BlobPlan, from: string | undefined, limited = true): Promise<boolean> {
    const { ctx } = this;
    const home = ctx.destination.home;
    if (!canMount(home)) return false;
    let mounted = false;
    try {
      const mount = () => home.mountBlob(blob.repository, from, blob.digest);
      mounted = await (limited ? ctx.small(mount) : mount());
    } catch (error) {
      if (ctx.signal.aborted) throw error;
    }
    if (mounted) {
      this.#mounted++;
      ctx.emit({ type: "blob-done", repository: blob.repository, digest: blob.digest, size: blob.size, action: "mounted" });
    }
    return mounted;
  }

  /**
   * Upload a blob no known repository of the destination holds. First a
   * mount without a source repository, inside the transfer slot: a store or
   * layout links a blob it holds anywhere (no bytes read); a registry that
   * cannot find it answers with an upload session, which the upload then
   * uses, so the attempt costs no extra request and open sessions stay
   * bounded by the transfer pool.
   */
  async #upload(blob: BlobPlan): Promise<void> {
    const { ctx } = this;
    await ctx.transfers.run(async () => {
      if (blob.action === "push" && (await this.#mount(blob, undefined, false))) return;
      ctx.emit({ type: "blob-started", repository: blob.repository, digest: blob.digest, size: blob.size, action: "push" });
      try {
        await this.#uploadWithRetries(blob);
      } catch (error) {
        ctx.emit({ type: "blob-failed", repository: blob.repository, digest: blob.digest, error: describeError(error) });
        throw error;
      }
      this.#pushed++;
      this.#bytes += blob.size;
      ctx.emit({ type: "blob-done", repository: blob.repository, digest: blob.digest, size: blob.size, action: "pushed" });
    }, ctx.signal);
  }

  /**
   * One blob upload, tried again on a transient failure (a dropped
   * connection, 429, 5xx) by opening the source anew: a streamed body
   * cannot be replayed by the client. File bodies are resumed by a
   * registry's own client, and a local home's failures (a full disk) do
   * not heal, so their failures are final here. A digest mismatch is
   * never retried.
   *
   * Progress: a streamed body is counted as it passes; a file body to a
   * registry is reported by the home (see BlobSender).
   */
  async #uploadWithRetries(blob: BlobPlan): Promise<void> {
    const { ctx } = this;
    const source = ctx.source.home;
    const { attempts, baseDelayMs } = { ...BLOB_RETRY, ...ctx.options.retry };
    for (let attempt = 1; ; attempt++) {
      let content;
      try {
        content = await source.blob(blob.sourceRepository, blob.digest);
      } catch (error) {
        throw new StepError(`blob ${blob.digest} (reading ${source.description})`, error);
      }
      let sent = 0;
      const progress = (bytes: number, estimated = false) => {
        sent += bytes;
        ctx.emit({ type: "blob-progress", digest: blob.digest, bytes, ...(estimated ? { estimated } : {}) });
      };
      const home = ctx.destination.home;
      const descriptor = { digest: blob.digest, size: blob.size, mediaType: blob.mediaType };
      try {
        if (content.blob && canSendBlobs(home)) {
          // A file body goes to a registry untouched (sendfile), to the store through its own buffer;
          // the home reports progress (a registry's estimated while it runs).
          await untilAborted(home.sendBlob(blob.repository, descriptor, content.blob(), progress, ctx.signal), ctx.signal);
        } else if (canWriteBlobFiles(home)) {
          // A local file home takes the source's own body (a file, or the transport's stream as
          // the network gives it, held to the size) and writes it without JavaScript touching each
          // chunk; it counts the bytes as its file grows. Any other stream goes through a tap that
          // counts nothing: it cuts the body when the run stops or at the blob's size (the home
          // writes before it checks), and Bun does not see through it to a file it would copy
          // whole (see forBunWrite).
          const body = content.blob
            ? content.blob()
            : content.open
              ? await content.open(ctx.signal)
              : content.stream().pipeThrough(streamTap({ signal: ctx.signal, onBytes: () => {}, limit: blob.size }));
          await untilAborted(home.writeBlob(blob.repository, descriptor, body, progress, ctx.signal), ctx.signal);
        } else {
          // Every other home reads the body as a stream anyway (to hash it), file or not: a tap
          // counts the bytes as they pass and cuts the body when the run stops.
          const stream = content.blob ? content.blob().stream() : content.stream();
          await untilAborted(home.putBlob(blob.repository, descriptor, stream.pipeThrough(streamTap({ signal: ctx.signal, onBytes: progress }))), ctx.signal);
        }
        if (sent !== blob.size) progress(blob.size - sent);
        return;
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        if (content.blob || attempt >= attempts || !isTransient(error)) {
          throw new StepError(`blob ${blob.digest} from ${source.description}`, error);
        }
        // Take back the bytes of the failed attempt so progress stays true.
        if (sent) ctx.emit({ type: "blob-progress", digest: blob.digest, bytes: -sent });
        ctx.emit({ type: "blob-retry", repository: blob.repository, digest: blob.digest, attempt, error: describeError(error) });
        await abortableSleep(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2), ctx.signal);
      }
    }
  }

  async #putManifest(repository: string, node: ManifestNode, reference: string): Promise<void> {
    const { ctx } = this;
    const what = reference === node.digest ? `manifest ${node.digest}` : `tag ${reference} (manifest ${node.digest})`;
    let stored: Digest;
    try {
      stored = await ctx.small(() =>
        untilAborted(ctx.destination.home.putManifest(repository, reference, { bytes: node.bytes, mediaType: node.mediaType }), ctx.signal),
      );
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      throw new StepError(what, error);
    }
    if (stored !== node.digest) throw new StepError(what, new Error(`the destination stored it as ${stored}`));
    this.#manifestsPushed++;
    ctx.emit({ type: "manifest-pushed", repository, reference, digest: node.digest });
  }

  summary(startedAt: number): SyncSummary {
    const seconds = (performance.now() - startedAt) / 1000;
    const count = (...outcomes: string[]) => [...this.#outcomes.values()].filter((o) => outcomes.includes(o)).length;
    return {
      images: {
        total: this.plan.images.length,
        synced: count("copied", "tagged"),
        skipped: count("present"),
        failed: count("failed"),
        cancelled: count("cancelled"),
      },
      blobs: { pushed: this.#pushed, mounted: this.#mounted, skipped: this.plan.totals.blobs.skip },
      manifests: { pushed: this.#manifestsPushed },
      bytes: this.#bytes,
      seconds,
      mbPerSecond: seconds > 0 ? this.#bytes / 1e6 / seconds : 0,
      interrupted: this.ctx.interrupted,
      failures: this.#failures,
    };
  }
}
