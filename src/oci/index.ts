export * from "./config.ts";
export * from "./descriptor.ts";
export * from "./errors.ts";
export * from "./home.ts";
export * from "./manifest.ts";
export * from "./media-types.ts";
export * from "./platform.ts";
export * from "./system-error.ts";
