export * from "./blob-driver.ts";
export * from "./fs-driver.ts";
export * from "./metadata.ts";
export * from "./paths.ts";
export * from "./pull-recorder.ts";
export * from "./store.ts";
export * from "./upload-sessions.ts";
