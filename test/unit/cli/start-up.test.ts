/**
 * What every start pays for: the modules reached from src/main.ts by
 * static imports (the compiled binary evaluates those at start; a module
 * reached only through import() is evaluated when it is first needed).
 * `--help` and `--version` need no command module and no package; serve
 * needs neither the admin API nor the copy engine unless asked for them.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../../src");
const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Files under src/ and package names reached from `entry` by static imports. */
function staticClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const code = readFileSync(file, "utf8").replace(/^#!.*/, "");
    for (const { path, kind } of transpiler.scanImports(code)) {
      if (kind === "dynamic-import") continue;
      if (path.startsWith(".")) visit(resolve(dirname(file), path));
      else if (!path.startsWith("node:") && path !== "bun") packages.add(path);
    }
  };
  visit(resolve(SRC, entry));
  return { files: [...files].map((f) => relative(SRC, f)).sort(), packages: [...packages].sort() };
}

test("start-up loads the dispatcher and the error types, nothing else", () => {
  expect(staticClosure("main.ts")).toEqual({
    files: [
      "cli/command.ts",
      "cli/commands.ts",
      "cli/run.ts",
      "digest/digest.ts",
      "main.ts",
      "oci/errors.ts",
      "oci/system-error.ts",
      "reference/errors.ts",
      "version.ts",
    ],
    packages: [],
  });
});

test("serve loads neither the admin API nor the copy engine, transports, client or bundles", () => {
  const modules = new Set(staticClosure("cli/serve.ts").files.map((f) => f.split("/")[0]));
  for (const lazy of ["admin", "sync", "transports", "client", "bundle", "flatten", "rewrite"]) expect([lazy, modules.has(lazy)]).toEqual([lazy, false]);
});
