export * from "./gc-error.ts";
export * from "./gc-options.ts";
export * from "./gc-report.ts";
export { buildGraph, type GcGraph, type GcPlan, manifestKey, type MarkPolicy, planGc } from "./mark.ts";
export * from "./run-gc.ts";
