export * from "./errors.ts";
export * from "./origins.ts";
export * from "./read-origins.ts";
export * from "./rewrite-yaml.ts";
export * from "./site-naming.ts";
export * from "./write-file-atomic.ts";
