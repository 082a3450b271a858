export * from "./digest.ts";
export * from "./hasher.ts";
export * from "./verify-stream.ts";
export * from "./file-digest.ts";
