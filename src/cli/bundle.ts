/**
 * `stevedore bundle create|inspect|verify`: build the offline media on a
 * connected machine, and look inside it anywhere.
 */
import { stat } from "node:fs/promises";
import {
  type BundleFormat,
  type BundleReport,
  type BundleSummary,
  BundleError,
  createBundle,
  type ImageRequest,
  ImageListError,
  imagesFromArguments,
  inspectBundle,
  parseImageList,
  verifyBundle,
} from "../bundle/index.ts";
import { parsePlatform, PlatformError, systemErrorReason } from "../oci/index.ts";
import { DEFAULT_PARALLEL } from "../sync/index.ts";
import { TransportError } from "../transports/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";
import { formatBytes } from "./sync-format.ts";
import { SyncReporter, summaryJson } from "./sync-progress.ts";

const SUBCOMMANDS = `Commands:
  create    pull images from their registries into one bundle (a tar or a directory)
  inspect   list a bundle's images, platforms and sizes
  verify    re-hash every blob and check every manifest of a bundle`;

export const bundleCommand: Command = {
  name: "bundle",
  summary: "Build offline bundles of images (create), look inside them (inspect, verify)",
  help: `Usage: stevedore bundle COMMAND [OPTIONS]

A bundle is an OCI image layout, as an uncompressed tar or a directory:
each image named in index.json by its full reference, each blob stored
once. 'stevedore sync BUNDLE REGISTRY' pushes it; skopeo, podman and (for
single-platform images, through its manifest.json) docker load read it too.

${SUBCOMMANDS}

Run 'stevedore bundle COMMAND --help' for a command's options.`,
  async run(ctx) {
    const [name, ...rest] = ctx.argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      ctx.stdout.write(`${this.help}\n`);
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    const sub = { create: createCommand, inspect: inspectCommand, verify: verifyCommand }[name];
    if (!sub) throw new UsageError(`bundle: unknown command ${JSON.stringify(name)}`, "bundle");
    return sub.run({ ...ctx, argv: rest });
  },
};

const CREATE_FLAGS = {
  file: { type: "string", short: "f", multiple: true },
  output: { type: "string", short: "o" },
  platform: { type: "string", multiple: true },
  parallel: { type: "string" },
  since: { type: "string" },
  referrers: { type: "boolean" },
  "force-pull": { type: "boolean" },
  json: { type: "boolean" },
  ...REGISTRY_FLAGS,
} as const;

const createCommand: Command = {
  name: "bundle create",
  summary: "Pull images into one bundle",
  help: `Usage: stevedore bundle create [IMAGE...] [-f LIST]... -o OUTPUT [OPTIONS]

Pull every image named on the command line and in the lists into one bundle.
Each reference is normalised as docker does (nginx:1.25 is
docker.io/library/nginx:1.25) and names its image in the bundle.

LIST: a text file with one reference per line ('#' starts a comment), or a
      YAML file (*.yaml, *.yml) whose entries may pin a digest and platforms:
        images:
          - nginx:1.25
          - image: quay.io/prometheus/node-exporter:v1.8.0
            digest: sha256:...          # pull this content; the tag names it
            platforms: [linux/amd64]    # instead of --platform, for this image
OUTPUT: a file ending in .tar (an OCI archive, written whole or not at all), or
      a directory (an OCI layout; new, empty, or a bundle written before).

Options:
  -o, --output PATH   where the bundle goes
  -f, --file LIST     read references from LIST (repeatable)
  --platform P        keep only platform P (os/arch[/variant]) of multi-arch images;
                      repeatable. One platform: the image is that platform's manifest
                      (so 'docker load' can read it); several: the index is rewritten.
  --parallel N        blob downloads at once (default ${DEFAULT_PARALLEL}), over all images
  --since OLD         a delta: leave out the layers the bundle OLD has; OLD must be
                      synced to a registry before this bundle
  --referrers         also bundle each image's referrers (signatures, SBOMs)
  --force-pull        download everything again, even what OUTPUT already has
  --json              JSON lines on stdout: the copy's events, its summary, then
                      {"type":"bundle",...}
  -h, --help

${REGISTRY_FLAGS_HELP}

Running create again into the same OUTPUT downloads only what is new. The tar is
reproducible: the same images give a byte-identical file. Each blob's digest is
checked as it arrives. Exit code: 0 when the bundle is written, 1 when any image
failed (nothing is written then), 2 for bad usage, 130 when interrupted.`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, CREATE_FLAGS);
    if (!flags) return EXIT.ok;
    const v = flags.values;
    if (!v.output) throw new UsageError("bundle create: name the output with -o FILE.tar or -o DIR", this.name);
    const images = [...fromArguments(flags.positionals, this.name), ...(await fromFiles(v.file ?? [], this.name))];
    if (images.length === 0) throw new UsageError("bundle create: no images; name them as arguments or with -f LIST", this.name);
    const format = await outputFormat(v.output, this.name);
    const platforms = (v.platform ?? []).map((text) => {
      try {
        return parsePlatform(text);
      } catch (error) {
        if (error instanceof PlatformError) throw new UsageError(`bundle create: ${error.message}`, this.name);
        throw error;
      }
    });
    const parallel = parseParallel(v.parallel, this.name);
    const { file: _f, output, platform: _p, parallel: _n, since, referrers, "force-pull": forcePull, json, ...registryFlags } = v;
    const registry = await registryOptions(registryFlags, ctx);
    const reporter = new SyncReporter(ctx, { mode: json ? "json" : "text", verb: "pull" });
    let summary: BundleSummary;
    try {
      summary = await createBundle({
        images,
        output,
        format,
        platforms,
        parallel,
        ...(since ? { since } : {}),
        referrers: referrers ?? false,
        forcePull: forcePull ?? false,
        registry,
        signal: ctx.signal,
        onEvent: reporter.listener,
      });
    } catch (error) {
      if (ctx.signal.aborted) return 130;
      throw asCommandError(error);
    } finally {
      reporter.stop();
    }
    if (json) ctx.stdout.write(`${JSON.stringify(bundleJson(summary))}\n`);
    else ctx.stdout.write(describeCreated(summary));
    return EXIT.ok;
  },
};

function fromArguments(args: string[], command: string): ImageRequest[] {
  try {
    return imagesFromArguments(args);
  } catch (error) {
    if (error instanceof ImageListError) throw new UsageError(`bundle create: ${error.message}`, command);
    throw error;
  }
}

async function fromFiles(files: string[], command: string): Promise<ImageRequest[]> {
  const out: ImageRequest[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await Bun.file(file).text();
    } catch (error) {
      throw new UsageError(`bundle create: cannot read ${JSON.stringify(file)}: ${systemErrorReason(error)}`, command);
    }
    try {
      out.push(...parseImageList(text, file));
    } catch (error) {
      if (error instanceof ImageListError) throw new UsageError(`bundle create: ${error.message}`, command);
      throw error;
    }
  }
  return out;
}

/** `.tar` is an archive; an existing directory, or a new path without `.tar`, a directory. */
async function outputFormat(path: string, command: string): Promise<BundleFormat> {
  const info = await stat(path).catch(() => undefined);
  if (/\.tar$/i.test(path)) {
    if (info?.isDirectory()) throw new UsageError(`bundle create: ${JSON.stringify(path)} is a directory`, command);
    return "archive";
  }
  if (info && !info.isDirectory()) {
    throw new UsageError(`bundle create: ${JSON.stringify(path)} is a file; name a file ending in .tar, or a directory`, command);
  }
  return "directory";
}

function parseParallel(text: string | undefined, command: string): number {
  if (text === undefined) return DEFAULT_PARALLEL;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) {
    throw new UsageError(`bundle create: --parallel must be a whole number from 1 to 1024, got ${JSON.stringify(text)}`, command);
  }
  return n;
}

function asCommandError(error: unknown): unknown {
  if (error instanceof BundleError || error instanceof TransportError) return new CommandError(error.message);
  return error;
}

function bundleJson(summary: BundleSummary): object {
  const { copy, ...rest } = summary;
  return { type: "bundle", ...rest, copy: summaryJson(copy) };
}

function describeCreated(s: BundleSummary): string {
  const lines = [
    `wrote ${s.output}: ${plural(s.images.length, "image")}${s.referrers ? ` and ${plural(s.referrers, "referrer")}` : ""}, ` +
      `${plural(s.blobs, "blob")}, ${formatBytes(s.bytes)} · index.json ${s.index}`,
  ];
  if (s.delta) {
    lines.push(
      `delta: needs the base bundle ${JSON.stringify(s.delta.name)} (index.json ${s.delta.base}); ` +
        `${plural(s.delta.blobs, "blob")} (${formatBytes(s.delta.bytes)}) left to it`,
    );
  }
  if (s.removed) lines.push(`removed ${plural(s.removed, "blob")} no image needs any more`);
  return `${lines.join("\n")}\n`;
}

const inspectCommand: Command = {
  name: "bundle inspect",
  summary: "List a bundle's images",
  help: `Usage: stevedore bundle inspect BUNDLE [--json]

List the images of BUNDLE (a tar or a directory) with their digests,
platforms and sizes: SIZE counts all of an image's content, UNIQUE the
bytes no other image in the bundle shares. For a delta bundle, the base it
needs and what it leaves to it.

Options:
  --json   print the report as one JSON document
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { json: { type: "boolean" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("bundle inspect: expected one BUNDLE", this.name);
    let report: BundleReport;
    try {
      report = await inspectBundle(flags.positionals[0]!);
    } catch (error) {
      throw asCommandError(error);
    }
    ctx.stdout.write(flags.values.json ? `${JSON.stringify(report)}\n` : describeReport(report));
    return EXIT.ok;
  },
};

function describeReport(r: BundleReport): string {
  const rows = [
    ["IMAGE", "DIGEST", "PLATFORMS", "SIZE", "UNIQUE"],
    ...r.images.map((i) => [
      i.name,
      i.digest,
      i.platforms.join(",") || "-",
      formatBytes(i.size),
      formatBytes(i.unique) + (i.inBase ? ` (+${formatBytes(i.inBase)} in base)` : "") + (i.missing ? ` (${i.missing} missing!)` : ""),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const table = rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ").trimEnd());
  const lines = [
    `${r.path} (${r.kind === "archive" ? "tar" : "directory"}) · index.json ${r.index}`,
    ...table,
    `${plural(r.images.length, "image")}${r.referrers ? `, ${plural(r.referrers, "referrer")}` : ""} · ` +
      `${plural(r.blobs, "blob")}, ${formatBytes(r.bytes)} · shared by several images: ${plural(r.shared.blobs, "blob")}, ${formatBytes(r.shared.bytes)} · ` +
      `unique: ${formatBytes(r.bytes - r.shared.bytes)} · docker load: ${plural(r.dockerImages, "image")}`,
  ];
  if (r.delta) {
    lines.push(
      `delta: needs the base bundle ${r.delta.name ? `${JSON.stringify(r.delta.name)} ` : ""}(index.json ${r.delta.base}); ` +
        `${plural(r.delta.blobs, "blob")} (${formatBytes(r.delta.bytes)}) left to it; sync the base first`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const verifyCommand: Command = {
  name: "bundle verify",
  summary: "Check a bundle's blobs and manifests",
  help: `Usage: stevedore bundle verify BUNDLE [--json] [--parallel N]

Hash every blob of BUNDLE (a tar or a directory) again and compare it with
its name; walk every index.json entry and check that each manifest, config
and layer it reaches is present with the size its manifest says; check
oci-layout, index.json and manifest.json. Blobs a delta leaves to its base
are not problems. Each problem is printed on its own line, naming the file.

Exit code: 0 when the bundle is sound, 1 when there are problems.

Options:
  --parallel N   files hashed at once (default 4)
  --json         print the report as one JSON document
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { json: { type: "boolean" }, parallel: { type: "string" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("bundle verify: expected one BUNDLE", this.name);
    const path = flags.positionals[0]!;
    const parallel = flags.values.parallel === undefined ? 4 : parseParallel(flags.values.parallel, this.name);
    let report;
    try {
      report = await verifyBundle(path, { parallel, signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) return 130;
      throw asCommandError(error);
    }
    if (flags.values.json) ctx.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const p of report.problems) ctx.stdout.write(`${path}: ${p.file}: ${p.message}\n`);
      if (report.problems.length === 0) {
        ctx.stdout.write(
          `ok: ${path}: ${plural(report.blobs, "blob")} (${formatBytes(report.bytes)}) hashed, ${plural(report.entries, "index entry", "index entries")} checked` +
            (report.inBase ? `; ${plural(report.inBase, "blob")} left to the base bundle` : "") +
            "\n",
        );
      }
    }
    if (report.problems.length === 0) return EXIT.ok;
    ctx.stderr.write(`stevedore: ${path}: ${plural(report.problems.length, "problem")}\n`);
    return EXIT.failure;
  },
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}


