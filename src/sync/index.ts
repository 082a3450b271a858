export * from "./describe-error.ts";
export * from "./events.ts";
export * from "./import-images.ts";
export * from "./options.ts";
export * from "./plan-view.ts";
export * from "./progress.ts";
export * from "./sync.ts";
export type { BlobAction, BlobPlan, ImageAction, ImagePlan, ManifestNode, PlanTotals, SyncPlan } from "./plan.ts";
