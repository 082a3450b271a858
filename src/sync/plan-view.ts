/** A plan as plain data, for `--dry-run` output (JSON or text) and job status. */
import type { Digest } from "../digest/index.ts";
import { type BlobAction, contentKey, type ImageAction, missingNodes, type PlanTotals, type SyncPlan } from "./plan.ts";

export interface ImagePlanView {
  image: string;
  target?: string;
  action: ImageAction;
  digest?: Digest;
  sourceDigest?: Digest;
  error?: string;
  /** Manifests to push for it (tag excluded). */
  manifests: number;
  /** Its blobs by what will happen to them (a blob shared with another image counts for both). */
  blobs: Record<BlobAction, number>;
  /** Bytes it needs uploaded. */
  bytes: number;
}

export interface BlobPlanView {
  repository: string;
  digest: Digest;
  size: number;
  action: BlobAction;
  from?: string;
}

export interface PlanView {
  images: ImagePlanView[];
  blobs: BlobPlanView[];
  totals: PlanTotals;
}

export function viewPlan(plan: SyncPlan): PlanView {
  const images = plan.images.map((image): ImagePlanView => {
    const blobs: Record<BlobAction, number> = { push: 0, mount: 0, skip: 0 };
    let bytes = 0;
    let manifests = 0;
    const seen = new Set<string>();
    if (image.action === "copy" && image.root) {
      for (const node of missingNodes(image.root)) {
        manifests++;
        for (const d of node.blobs) {
          const blob = plan.blobs.get(contentKey(image.target!.repository, d.digest));
          if (!blob || seen.has(d.digest)) continue;
          seen.add(d.digest);
          blobs[blob.action]++;
          if (blob.action === "push") bytes += blob.size;
        }
      }
    }
    return {
      image: image.image,
      ...(image.targetName ? { target: image.targetName } : {}),
      action: image.action,
      ...(image.digest ? { digest: image.digest } : {}),
      ...(image.sourceDigest ? { sourceDigest: image.sourceDigest } : {}),
      ...(image.error ? { error: image.error } : {}),
      manifests,
      blobs,
      bytes,
    };
  });
  const blobs = [...plan.blobs.values()].map((b): BlobPlanView => ({
    repository: b.repository,
    digest: b.digest,
    size: b.size,
    action: b.action,
    ...(b.from !== undefined ? { from: b.from } : {}),
  }));
  return { images, blobs, totals: plan.totals };
}
