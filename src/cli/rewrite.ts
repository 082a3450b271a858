import { readFile } from "node:fs/promises";
import {
  type Origins,
  readOrigins,
  RewriteError,
  type RewriteResult,
  rewriteYaml,
  siteRegistry,
  writeFileAtomic,
} from "../rewrite/index.ts";
import { systemErrorReason } from "../oci/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";

export const rewriteCommand: Command = {
  name: "rewrite",
  summary: "Point image references in Kubernetes YAML and Helm values at the site registry, and back",
  help: `Usage: stevedore rewrite --registry HOST[:PORT] [--prefix P] [--reverse [--images FILE|BUNDLE]] [--check] FILE...|-

Rewrite every container image reference in Kubernetes manifests (every
workload kind; containers, initContainers, ephemeralContainers; many
documents per file) and Helm values files (\`image:\` strings anywhere;
\`repository\`/\`registry\`/\`tag\` maps) so it names the site registry: the
registry replaced, the path kept, as sync names what it pushes:

  nginx:1.25, docker.io/library/nginx:1.25  ->  site:5000/library/nginx:1.25
  quay.io/prometheus/node-exporter:v1.8     ->  site:5000/prometheus/node-exporter:v1.8

Tags and digests are kept. Comments, quoting and layout are kept byte for
byte; only the changed values differ. Files are replaced atomically; with
\`-\`, standard input is rewritten to standard output. Malformed YAML is an
error naming the file and line, and no file is written.

--reverse maps site references back. With --images (an image list, one
reference per line, or a bundle or OCI layout whose index.json names full
references), each goes back to the exact name it came from, written as the
list writes it; a path that two registries share is narrowed by its tag and
otherwise an error naming both. Without --images the origin is taken to be
docker.io, written short as docker prints it (site:5000/library/nginx:1.25
-> nginx:1.25).

Options:
  --registry HOST[:PORT]  the site registry (required)
  --prefix P              repositories at the site sit under P/ (as sync --prefix)
  --reverse               map site references back to their origins
  --images FILE|BUNDLE    with --reverse: where the images came from
  --check                 write nothing; list each change as FILE:LINE: OLD -> NEW
                          and exit 1 if anything would change
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      registry: { type: "string" },
      prefix: { type: "string" },
      reverse: { type: "boolean" },
      images: { type: "string" },
      check: { type: "boolean" },
    });
    if (!flags) return EXIT.ok;
    const { registry, prefix, reverse = false, images, check = false } = flags.values;
    const files = flags.positionals;
    if (!registry) throw new UsageError("rewrite: --registry is required");
    if (files.length === 0) throw new UsageError("rewrite: name the files to rewrite, or - for standard input");
    if (files.includes("-") && files.length > 1) throw new UsageError("rewrite: - (standard input) cannot be mixed with files");
    if (images !== undefined && !reverse) throw new UsageError("rewrite: --images applies only with --reverse");
    let site;
    try {
      site = siteRegistry(registry, prefix);
    } catch (error) {
      if (error instanceof RewriteError) throw new UsageError(`rewrite: ${error.message}`);
      throw error;
    }
    let origins: Origins | undefined;
    if (images !== undefined) origins = await asCommandError(() => readOrigins(images));

    // Every file is read and rewritten in memory first: one bad file means
    // no file is written.
    const results: { file: string; result: RewriteResult }[] = [];
    const errors: string[] = [];
    for (const file of files) {
      const text = file === "-" ? decode(new Uint8Array(await Bun.stdin.arrayBuffer()), "standard input") : await readText(file);
      try {
        results.push({ file, result: rewriteYaml(text, file, { site, reverse, origins }) });
      } catch (error) {
        if (!(error instanceof RewriteError)) throw error;
        errors.push(error.describe());
      }
    }
    for (const { file, result } of results) {
      for (const w of result.warnings) ctx.stderr.write(`stevedore: warning: ${file}:${w.line}: ${w.message}\n`);
    }
    if (errors.length) {
      for (const e of errors.slice(0, -1)) ctx.stderr.write(`stevedore: ${e}\n`);
      throw new CommandError(`${errors.at(-1)}${files.length > 1 ? " (no file was changed)" : ""}`);
    }

    if (check) {
      let changed = 0;
      for (const { file, result } of results) {
        for (const c of result.changes) ctx.stdout.write(`${file}:${c.line}: ${c.old} -> ${c.new}\n`);
        changed += result.changes.length;
      }
      return changed ? EXIT.failure : EXIT.ok;
    }
    for (const { file, result } of results) {
      if (file === "-") {
        ctx.stdout.write(result.text);
        continue;
      }
      if (result.changes.length) await asCommandError(() => writeFileAtomic(file, result.text), file);
      ctx.stderr.write(`${file}: ${result.changes.length} ${result.changes.length === 1 ? "change" : "changes"}\n`);
    }
    return EXIT.ok;
  },
};

async function readText(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new CommandError(`Cannot read ${JSON.stringify(file)}: ${systemErrorReason(error)}`);
  }
  return decode(bytes, file);
}

function decode(bytes: Uint8Array, name: string): string {
  try {
    // ignoreBOM keeps a byte-order mark in the text, so it is written back.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CommandError(`${name} is not UTF-8 text`);
  }
}

async function asCommandError<T>(work: () => Promise<T>, file?: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RewriteError) throw new CommandError(error.describe());
    const code = (error as NodeJS.ErrnoException).code;
    if (file && code) throw new CommandError(`Cannot write ${JSON.stringify(file)}: ${systemErrorReason(error)}`);
    throw error;
  }
}
