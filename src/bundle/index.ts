export * from "./base-bundle.ts";
export * from "./bundle-files.ts";
export * from "./create-bundle.ts";
export * from "./errors.ts";
export * from "./image-list.ts";
export * from "./inspect-bundle.ts";
export * from "./registry-source.ts";
export * from "./verify-bundle.ts";
