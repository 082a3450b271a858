export * from "./fsck-report.ts";
export * from "./run-fsck.ts";
