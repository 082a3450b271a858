/**
 * Build the single executable: dist/stevedore, with the version (and the
 * commit, when built from a git checkout) baked in.
 */
import { $ } from "bun";

const pkg = (await Bun.file(new URL("../package.json", import.meta.url)).json()) as { version: string };
const commit = (await $`git rev-parse --short HEAD`.quiet().nothrow()).stdout.toString().trim();
const version = commit ? `${pkg.version}+${commit}` : pkg.version;
const outfile = "dist/stevedore";

// --bytecode: the code ships precompiled, which halves start-up (no parsing of the bundle on every run);
// Bun compiles ESM to bytecode only when asked for --format=esm.
// Worker threads' code goes in as entry points of its own (new Worker finds them in the executable).
const workers = ["./src/digest/hash-worker.ts"];
await $`${process.execPath} build --compile --minify --sourcemap --bytecode --format=esm ./src/main.ts ${workers} --outfile ${outfile} --define ${`STEVEDORE_VERSION=${JSON.stringify(version)}`}`;
console.error(`built ${outfile} (stevedore ${version})`);
