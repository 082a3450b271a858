export * from "./errors.ts";
export * from "./reference.ts";
export * as patterns from "./regexp.ts";
export * from "./tag-spec.ts";
