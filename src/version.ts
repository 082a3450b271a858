/** The version, baked in by `npm run build` (bun build --define). */
declare const STEVEDORE_VERSION: string | undefined;

export const VERSION: string = typeof STEVEDORE_VERSION === "string" ? STEVEDORE_VERSION : "0.0.0-dev";
