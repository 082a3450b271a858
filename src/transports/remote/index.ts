export * from "./docker-location.ts";
export * from "./registry-home.ts";
