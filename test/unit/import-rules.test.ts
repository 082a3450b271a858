/**
 * The module layering of DESIGN.md, checked: a module imports only the
 * modules listed after it. `registry` and `client` never import each other.
 */
import { expect, test } from "bun:test";
import { Glob } from "bun";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

const ALLOWED: Record<string, string[]> = {
  cli: ["admin", "registry", "bundle", "sync", "rewrite", "flatten", "transports", "client", "store", "oci", "reference", "digest"],
  admin: ["registry", "bundle", "sync", "rewrite", "transports", "store", "oci", "reference", "digest"],
  registry: ["store", "oci", "reference", "digest"],
  sync: ["transports", "oci", "reference", "digest"],
  // Not in the original module list: rewriting manifests files and
  // flattening images are libraries of their own that the CLI (and admin) call.
  rewrite: ["transports", "oci", "reference", "digest"],
  // Building, inspecting and verifying offline bundles: a copy into an archive plus its bookkeeping.
  bundle: ["sync", "transports", "oci", "reference", "digest"],
  flatten: ["oci", "reference", "digest"],
  transports: ["client", "store", "oci", "reference", "digest"],
  client: ["oci", "reference", "digest"],
  store: ["oci", "reference", "digest"],
  oci: ["reference", "digest"],
  reference: ["digest"],
  digest: [],
};
/** Files at the top of src/ that any module may use. */
const SHARED_TOP_LEVEL = new Set(["version.ts"]);

function moduleOf(file: string): string | undefined {
  const rel = relative(SRC, file);
  return rel.includes("/") ? rel.split("/")[0] : undefined;
}

test("every module imports only what DESIGN.md allows", async () => {
  const violations: string[] = [];
  const modules = new Set<string>();
  for await (const rel of new Glob("**/*.ts").scan(SRC)) {
    const file = join(SRC, rel);
    const from = moduleOf(file);
    if (!from) continue; // main.ts and version.ts
    modules.add(from);
    const text = await Bun.file(file).text();
    for (const match of text.matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = match[1] ?? match[2] ?? "";
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC)) {
        violations.push(`${rel} imports ${spec} from outside src/`);
        continue;
      }
      const to = moduleOf(target);
      if (to === undefined) {
        if (!SHARED_TOP_LEVEL.has(relative(SRC, target))) violations.push(`${rel} imports ${spec}`);
        continue;
      }
      if (to !== from && !(ALLOWED[from] ?? []).includes(to)) violations.push(`${rel} (${from}) imports ${spec} (${to})`);
    }
  }
  expect(violations).toEqual([]);
  for (const m of modules) expect(Object.keys(ALLOWED)).toContain(m);
});
