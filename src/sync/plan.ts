/**
 * Planning: before anything moves, resolve every source image to its
 * digest, ask the destination what it already has, and walk the source
 * (index → manifests → config and layers, and referrers on request) only
 * where the destination lacks something. The result is data: what each
 * image needs, and for every (repository, blob) whether to push, mount or
 * skip it, de-duplicated across all images. `--dry-run` prints it; the
 * transfer step (transfer.ts) carries it out.
 *
 * Only small requests happen here: source manifest reads, destination
 * HEADs (resolve, hasManifest, statBlob). A re-sync where everything is
 * present costs one destination request per image (the tag resolves to
 * the source digest) and moves nothing.
 */
import { ContentMismatchError, type Digest, digestOf, isDigest, verifiableAlgorithm } from "../digest/index.ts";
import {
  canListReferrers,
  canMount,
  type Descriptor,
  formatPlatform,
  type ManifestContent,
  manifestReferences,
  OciError,
  parseManifest,
  type Platform,
} from "../oci/index.ts";
import type { SourceImage, Target } from "../transports/endpoint.ts";
import type { SyncContext } from "./context.ts";
import { describeError, StepError } from "./describe-error.ts";
import { choosePlatforms } from "./platform-filter.ts";
import { settleAll } from "./settle.ts";

/** A manifest to copy, with what it needs. */
export interface ManifestNode {
  digest: Digest;
  mediaType: string;
  /** The exact bytes to push (the source's, or the platform-filtered index). */
  bytes: Uint8Array;
  /** The destination repository has it already: nothing below it is walked or pushed. */
  present: boolean;
  /** Entries of an index. */
  children: ManifestNode[];
  /** Config and layers of an image manifest. */
  blobs: Descriptor[];
  /** Manifests whose subject is this one (with `referrers`). */
  referrers: ManifestNode[];
}

export type ImageAction =
  /** Something is missing: push blobs and manifests, then the tag. */
  | "copy"
  /** All content is there; write the tag. */
  | "tag"
  /** Nothing to do. */
  | "present"
  | "failed"
  /** Not planned: the run stopped first. */
  | "cancelled";

export interface ImagePlan {
  source: SourceImage;
  /** The source image's full name, for messages. */
  image: string;
  target?: Target;
  /** `repository:tag` or `repository@digest` in the destination. */
  targetName?: string;
  action: ImageAction;
  /** The digest the destination gets. */
  digest?: Digest;
  /** The source digest, when a platform filter made `digest` differ from it. */
  sourceDigest?: Digest;
  /** The destination tag already names `digest`. */
  tagPresent: boolean;
  root?: ManifestNode;
  error?: string;
}

export type BlobAction = "push" | "mount" | "skip";

/** One blob in one destination repository. */
export interface BlobPlan {
  repository: string;
  digest: Digest;
  size: number;
  mediaType: string;
  action: BlobAction;
  /** For a mount: a destination repository that has it, or will once its push in this run is done. */
  from?: string;
  /** Where to read it in the source. */
  sourceRepository: string;
}

export interface PlanTotals {
  images: { total: number; copy: number; tag: number; present: number; failed: number; cancelled: number };
  blobs: Record<BlobAction, number>;
  bytes: Record<BlobAction, number>;
  /** Manifests to push, tags included. */
  manifests: number;
}

export interface SyncPlan {
  images: ImagePlan[];
  /** Keyed by contentKey(repository, digest). */
  blobs: Map<string, BlobPlan>;
  totals: PlanTotals;
}

/** A map key for content in one repository (blobs and manifests alike). */
export const contentKey = (repository: string, digest: string) => `${repository}\u0000${digest}`;

export async function makePlan(ctx: SyncContext): Promise<SyncPlan> {
  const sourceImages = await ctx.source.list();
  if (sourceImages.length === 0) {
    ctx.emit({ type: "warning", message: `${ctx.source.description ?? ctx.source.home.description} names no images; nothing to copy` });
  }
  if (ctx.options.referrers && !canListReferrers(ctx.source.home)) {
    ctx.emit({ type: "warning", message: `${ctx.source.home.description} cannot list referrers; copying images without them` });
  }
  const images = sourceImages.map((source) => startPlan(ctx, source));
  refuseDuplicateTargets(ctx, images);
  await Promise.all(images.filter((p) => p.action === "copy").map((p) => planImage(ctx, p)));
  const blobs = await planBlobs(ctx, images);
  const totals = totalsOf(images, blobs);
  ctx.emit({ type: "planned", totals });
  return { images, blobs, totals };
}

function startPlan(ctx: SyncContext, source: SourceImage): ImagePlan {
  const plan: ImagePlan = { source, image: source.name.toString(), action: "copy", tagPresent: false };
  try {
    const target = ctx.destination.target(source);
    plan.target = target;
    plan.targetName = target.tag ? `${target.repository}:${target.tag}` : target.repository;
  } catch (error) {
    fail(ctx, plan, error);
  }
  return plan;
}

/** Two source images landing on one destination tag: the second would silently win. */
function refuseDuplicateTargets(ctx: SyncContext, images: ImagePlan[]): void {
  const seen = new Map<string, ImagePlan>();
  for (const plan of images) {
    if (plan.action !== "copy" || !plan.target?.tag) continue;
    const first = seen.get(plan.targetName!);
    if (first) fail(ctx, plan, new Error(`${plan.targetName} is also the destination of ${first.image}`));
    else seen.set(plan.targetName!, plan);
  }
}

function fail(ctx: SyncContext, plan: ImagePlan, error: unknown): void {
  if (ctx.signal.aborted) {
    plan.action = "cancelled";
    ctx.emit({ type: "image-cancelled", image: plan.image, target: plan.targetName });
    return;
  }
  plan.action = "failed";
  plan.error = describeError(error);
  ctx.emit({ type: "image-failed", image: plan.image, target: plan.targetName, error: plan.error });
  ctx.failed();
}

async function planImage(ctx: SyncContext, plan: ImagePlan): Promise<void> {
  try {
    await planImageOrThrow(ctx, plan);
  } catch (error) {
    fail(ctx, plan, error);
  }
}

async function planImageOrThrow(ctx: SyncContext, plan: ImagePlan): Promise<void> {
  const { source } = plan;
  const target = plan.target!;
  const platforms = source.platforms ?? ctx.options.platforms ?? [];
  const force = ctx.options.force ?? false;
  let digest = isDigest(source.reference) ? (source.reference as Digest) : undefined;
  let root: ManifestContent | undefined;
  if (platforms.length > 0) {
    root = await fetchManifest(ctx, source.repository, source.reference, digest);
    const chosen = await applyPlatforms(ctx, plan, root, platforms);
    if (chosen.digest !== root.digest) plan.sourceDigest = root.digest;
    root = chosen;
    digest = root.digest;
  } else if (!digest) {
    digest = (await ctx.small(() => ctx.source.home.resolve(source.repository, source.reference))).digest;
  }
  plan.digest = digest;
  if (target.tag && !force) plan.tagPresent = (await destinationTag(ctx, target.repository, target.tag)) === digest;
  if (plan.tagPresent && !ctx.options.referrers) {
    plan.action = "present";
    return;
  }
  root ??= await fetchManifest(ctx, source.repository, digest, digest);
  plan.root = await walk(ctx, source.repository, target.repository, root, plan.tagPresent, new Set());
  if (someNode(plan.root, (n) => !n.present)) plan.action = "copy";
  else plan.action = target.tag && !plan.tagPresent ? "tag" : "present";
}

async function applyPlatforms(ctx: SyncContext, plan: ImagePlan, root: ManifestContent, platforms: Platform[]): Promise<ManifestContent> {
  const parsed = parseManifest(root.bytes, root.mediaType);
  // A single-platform image has nothing to choose from: it is copied as it is.
  if (parsed.kind !== "index") return root;
  const choice = choosePlatforms(root, parsed.index, platforms);
  if (choice.kind === "unchanged") return root;
  const chosen =
    choice.kind === "single"
      ? await fetchManifest(ctx, plan.source.repository, choice.descriptor.digest, choice.descriptor.digest, choice.descriptor.size)
      : choice.content;
  ctx.emit({
    type: "platform-filtered",
    image: plan.image,
    from: root.digest,
    to: chosen.digest,
    platforms: (choice.kind === "single" ? [choice.descriptor] : choice.kept).flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : [])),
  });
  return chosen;
}

/**
 * Read a manifest from the source and check its bytes against the digest
 * it is known by. Manifests are small and their contents steer the walk,
 * so they are checked here, on reading, before anything trusts them.
 */
async function fetchManifest(
  ctx: SyncContext,
  repository: string,
  reference: string,
  expected?: Digest,
  expectedSize?: number,
): Promise<ManifestContent> {
  const content = await ctx.small(() => ctx.source.home.manifest(repository, reference));
  const want = expected ?? content.digest;
  const actual = digestOf(content.bytes, verifiableAlgorithm(want));
  if (actual !== want) throw new StepError(`manifest ${want}`, new ContentMismatchError("digest", want, actual));
  if (expectedSize !== undefined && content.bytes.byteLength !== expectedSize) {
    throw new StepError(`manifest ${want}`, new ContentMismatchError("size", String(expectedSize), String(content.bytes.byteLength)));
  }
  return { digest: actual, mediaType: content.mediaType, bytes: content.bytes };
}

/** The digest a destination tag names now, if any. */
async function destinationTag(ctx: SyncContext, repository: string, tag: string): Promise<Digest | undefined> {
  try {
    return (await ctx.small(() => ctx.destination.home.resolve(repository, tag))).digest;
  } catch (error) {
    if (OciError.is(error, "MANIFEST_UNKNOWN") || OciError.is(error, "NAME_UNKNOWN")) return undefined;
    throw error;
  }
}

/**
 * Walk one manifest: a manifest the destination has is not walked further
 * (its children and blobs were pushed before it, by the push order), but
 * its referrers are still listed, since new signatures arrive for old
 * images. With `force` nothing counts as present and every blob is checked.
 */
async function walk(
  ctx: SyncContext,
  sourceRepository: string,
  repository: string,
  content: ManifestContent,
  knownPresent: boolean,
  visited: Set<string>,
): Promise<ManifestNode> {
  visited.add(content.digest);
  const parsed = parseManifest(content.bytes, content.mediaType);
  const present =
    knownPresent ||
    (!ctx.options.force &&
      (await ctx.manifestChecks.run(contentKey(repository, content.digest), () =>
        ctx.small(() => ctx.destination.home.hasManifest(repository, content.digest)),
      )));
  const node: ManifestNode = {
    digest: content.digest,
    mediaType: parsed.mediaType,
    bytes: content.bytes,
    present,
    children: [],
    blobs: [],
    referrers: [],
  };
  const steps: Promise<unknown>[] = [];
  if (!present) {
    const refs = manifestReferences(parsed);
    node.blobs = refs.blobs;
    for (const d of refs.manifests) {
      visited.add(d.digest);
      steps.push(
        fetchManifest(ctx, sourceRepository, d.digest, d.digest, d.size)
          .then((child) => walk(ctx, sourceRepository, repository, child, false, visited))
          .then((child) => void node.children.push(child)),
      );
    }
  }
  if (ctx.options.referrers && canListReferrers(ctx.source.home)) {
    const source = ctx.source.home;
    steps.push(
      ctx
        .small(() => source.referrers(sourceRepository, content.digest))
        .then((found) =>
          settleAll(
            found
              .filter((d) => !visited.has(d.digest))
              .map((d) => {
                visited.add(d.digest);
                return fetchManifest(ctx, sourceRepository, d.digest, d.digest, d.size)
                  .then((r) => walk(ctx, sourceRepository, repository, r, false, visited))
                  .then((r) => void node.referrers.push(r));
              }),
          ),
        ),
    );
  }
  await settleAll(steps);
  // Children in index order, whatever order their reads finished in.
  const order = new Map(manifestReferences(parsed).manifests.map((d, i) => [d.digest as string, i]));
  node.children.sort((a, b) => (order.get(a.digest) ?? 0) - (order.get(b.digest) ?? 0));
  return node;
}

export function someNode(node: ManifestNode, test: (n: ManifestNode) => boolean): boolean {
  return test(node) || node.children.some((c) => someNode(c, test)) || node.referrers.some((r) => someNode(r, test));
}

/** Every manifest of a tree the destination lacks. */
export function* missingNodes(node: ManifestNode): Generator<ManifestNode> {
  if (!node.present) {
    yield node;
    for (const c of node.children) yield* missingNodes(c);
  }
  for (const r of node.referrers) yield* missingNodes(r);
}

/**
 * Blobs: one entry per (destination repository, digest). Each is checked
 * with one HEAD; a missing one is mounted from a repository that has it (or
 * gets it first in this run) when the destination can mount, else pushed.
 */
async function planBlobs(ctx: SyncContext, images: ImagePlan[]): Promise<Map<string, BlobPlan>> {
  const blobs = new Map<string, BlobPlan>();
  for (const plan of images) {
    if (plan.action !== "copy" || !plan.root) continue;
    for (const node of missingNodes(plan.root)) {
      for (const d of node.blobs) {
        const key = contentKey(plan.target!.repository, d.digest);
        if (blobs.has(key)) continue;
        blobs.set(key, {
          repository: plan.target!.repository,
          digest: d.digest,
          size: d.size,
          mediaType: d.mediaType,
          action: "push",
          sourceRepository: plan.source.repository,
        });
      }
    }
  }
  const home = ctx.destination.home;
  await Promise.all(
    [...blobs.values()].map(async (b) => {
      try {
        if ((await ctx.small(() => home.statBlob(b.repository, b.digest))) !== undefined) b.action = "skip";
      } catch {
        // Not knowing is not having: the push that follows reports any real error.
      }
    }),
  );
  if (canMount(home)) {
    const byDigest = new Map<string, BlobPlan[]>();
    for (const b of blobs.values()) byDigest.set(b.digest, [...(byDigest.get(b.digest) ?? []), b]);
    const unheld = new Set([...byDigest].filter(([, group]) => group.every((b) => b.action === "push")).map(([d]) => d));
    const elsewhere = unheld.size > 0 ? await holdersInPresentImages(ctx, images, unheld) : new Map<string, string>();
    for (const [digest, group] of byDigest) {
      const holder = group.find((b) => b.action === "skip")?.repository ?? elsewhere.get(digest);
      const first = holder === undefined ? group[0] : undefined;
      for (const b of group) {
        if (b.action !== "push" || b === first) continue;
        b.action = "mount";
        b.from = holder ?? first!.repository;
      }
    }
    // A copy between repositories of one home: the source repository holds every blob.
    if (ctx.source.home === home || ctx.source.home.description === home.description) {
      for (const group of byDigest.values()) {
        const first = group.find((b) => b.action === "push");
        if (!first || first.sourceRepository === first.repository) continue;
        first.action = "mount";
        first.from = first.sourceRepository;
      }
    }
  }
  return blobs;
}

/**
 * Where the destination holds blobs we would otherwise upload, learned from
 * images it already has: a manifest there means its blobs are there (the
 * push order guarantees it, and registries check it). Only source manifests
 * are read, no destination request; and only when something is to be
 * pushed, so a re-sync stays cheap. A wrong guess costs a refused mount.
 */
async function holdersInPresentImages(ctx: SyncContext, images: ImagePlan[], wanted: Set<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const read = async (repository: string, sourceRepository: string, content: ManifestContent, walkAll: boolean): Promise<void> => {
    if (found.size === wanted.size) return;
    const refs = manifestReferences(parseManifest(content.bytes, content.mediaType));
    for (const d of refs.blobs) if (wanted.has(d.digest) && !found.has(d.digest)) found.set(d.digest, repository);
    if (!walkAll) return;
    await settleAll(
      refs.manifests.map(async (d) => read(repository, sourceRepository, await fetchManifest(ctx, sourceRepository, d.digest, d.digest), true)),
    );
  };
  const presentNodes = function* (node: ManifestNode): Generator<ManifestNode> {
    if (node.present) yield node;
    else for (const c of node.children) yield* presentNodes(c);
    for (const r of node.referrers) yield* presentNodes(r);
  };
  await Promise.all(
    images.map(async (plan) => {
      if (!plan.target || !plan.digest || (plan.action !== "present" && plan.action !== "tag" && plan.action !== "copy")) return;
      try {
        const roots = plan.root
          ? [...presentNodes(plan.root)]
          : [await fetchManifest(ctx, plan.source.repository, plan.digest, plan.digest)];
        await Promise.all(roots.map((n) => read(plan.target!.repository, plan.source.repository, n, true)));
      } catch {
        // A hint, not a need: without it the blob is uploaded.
      }
    }),
  );
  return found;
}

function totalsOf(images: ImagePlan[], blobs: Map<string, BlobPlan>): PlanTotals {
  const totals: PlanTotals = {
    images: { total: images.length, copy: 0, tag: 0, present: 0, failed: 0, cancelled: 0 },
    blobs: { push: 0, mount: 0, skip: 0 },
    bytes: { push: 0, mount: 0, skip: 0 },
    manifests: 0,
  };
  const manifests = new Set<string>();
  for (const plan of images) {
    totals.images[plan.action]++;
    if (plan.action === "tag") totals.manifests++;
    if (plan.action !== "copy" || !plan.root) continue;
    for (const node of missingNodes(plan.root)) manifests.add(contentKey(plan.target!.repository, node.digest));
    // The tag is written with the root's push, or on its own when the root is there already.
    if (plan.target?.tag && plan.root.present && !plan.tagPresent) totals.manifests++;
  }
  totals.manifests += manifests.size;
  for (const b of blobs.values()) {
    totals.blobs[b.action]++;
    totals.bytes[b.action] += b.size;
  }
  return totals;
}
