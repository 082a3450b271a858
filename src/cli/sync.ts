import { parsePlatform, type Platform, PlatformError } from "../oci/index.ts";
import { DEFAULT_PARALLEL, planSync, syncImages, viewPlan } from "../sync/index.ts";
import type { SourceEndpoint } from "../transports/endpoint.ts";
import { checkPathPrefix, TransportError } from "../transports/index.ts";
import { type Command, type CommandContext, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { COPY_CREDENTIAL_FLAGS, COPY_CREDENTIAL_FLAGS_HELP, copyRegistryOptions, REGISTRY_FLAGS, REGISTRY_FLAGS_HELP } from "./registry-flags.ts";
import { closeEndpoints, type OpenEndpoints, openEndpoints } from "./sync-endpoints.ts";
import { formatPlan } from "./sync-format.ts";
import { SyncReporter } from "./sync-progress.ts";

/** The flags sync and push share. */
export const COPY_FLAGS = {
  parallel: { type: "string" },
  platform: { type: "string", multiple: true },
  prefix: { type: "string" },
  referrers: { type: "boolean" },
  force: { type: "boolean" },
  "keep-going": { type: "boolean" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  ...REGISTRY_FLAGS,
  ...COPY_CREDENTIAL_FLAGS,
} as const;

/**
 * Between two local ends the work is reading, hashing and writing, and
 * the hashing of every transfer runs on this one thread: two transfers
 * keep it busy while the other waits on the disk, more add memory and
 * seeks, not speed, whatever the number of CPUs. Towards or from a
 * registry, parallel streams hide round trips.
 */
export const LOCAL_PARALLEL = 2;

export const COPY_OPTIONS_HELP = `Options:
  --parallel N       blob transfers at once (default ${DEFAULT_PARALLEL}, or ${LOCAL_PARALLEL} when neither end is a
                     registry); manifests and checks have their own small
                     pool, so they never wait behind big layers
  --platform P       copy only platform P (os/arch[/variant]) of multi-arch images; repeatable.
                     One platform: the tag gets that platform's image manifest, as
                     'crane copy --platform' and 'skopeo copy --override-arch' do.
                     Several: the index is rewritten to those entries. Either way the
                     digest differs from the source's, and a note says old -> new.
                     Single-platform images are copied as they are.
  --prefix P         put each repository under path P in DEST (site:5000 + --prefix mirror:
                     docker.io/library/nginx:1.25 lands at site:5000/mirror/library/nginx:1.25)
  --referrers        also copy each image's referrers (signatures, SBOMs, attestations)
  --force            walk images DEST already has and check every blob (repairs holes)
  --keep-going       go on with the other images after one fails (default: stop at the first)
  --dry-run          print what would move (images, blobs to push / mount / skip, bytes); move nothing
  --json             JSON lines on stdout: one per event, then {"type":"summary",...};
                     with --dry-run, the plan as one JSON document
  -h, --help

${REGISTRY_FLAGS_HELP}
${COPY_CREDENTIAL_FLAGS_HELP}
  The other registry flags apply to SOURCE and DEST alike.

Only what DEST lacks moves: an image whose manifest DEST has is skipped (only
its tag is written), a blob DEST has is not sent, a blob in another repository
of DEST is mounted. Blobs go first, then manifests, then the tag, so a run
stopped at any moment resumes where it stopped when started again.

Progress goes to stderr: a live line on a terminal, a line every 10 seconds
otherwise. Exit code: 0 when every image is in DEST, 1 when any failed,
2 for bad usage, 130 when interrupted.`;

export function syncCommandWith(open: OpenEndpoints): Command {
  return {
    name: "sync",
    summary: "Copy images between registries, layouts, archives and stores, moving only what is missing",
    help: `Usage: stevedore sync SOURCE DEST [OPTIONS]

Copy every image SOURCE names into DEST.

SOURCE: docker://HOST/REPO[:TAG|@DIGEST], oci:DIR[:REF], oci-archive:FILE[:REF],
        docker-archive:FILE, registry-dir:DIR, store:DIR
DEST:   docker://HOST[:PORT][/PATH] or HOST:PORT (a registry: each image keeps its
        repository path, the domain is replaced), oci:DIR, oci-archive:FILE, store:DIR

Scan copies:
  --scan             put every image into the ONE repository DEST names (docker://HOST/REPO),
                     tagged <prefix>_<repository path, / as _>_<tag>, so a scanner sees a
                     whole release in one place: docker.io/library/nginx:1.25 with
                     --tag-prefix 7.1.0 becomes REPO:7.1.0_library_nginx_1.25. An image
                     known by digest only is tagged ..._sha256-<16 hex digits>; tags over
                     128 characters are cut to 117 plus - and 10 hex digits of their hash.
  --tag-prefix P     the prefix of scan tags (with --scan)

${COPY_OPTIONS_HELP}`,
    async run(ctx) {
      const flags = parseFlags(ctx, this, { ...COPY_FLAGS, scan: { type: "boolean" }, "tag-prefix": { type: "string" } });
      if (!flags) return EXIT.ok;
      const [source, destination, ...extra] = flags.positionals;
      if (!source || !destination) throw new UsageError("sync: expected SOURCE and DEST");
      if (extra.length) throw new UsageError(`sync: unexpected argument ${JSON.stringify(extra[0])}`);
      const { scan, "tag-prefix": tagPrefix, ...copyFlags } = flags.values;
      if (tagPrefix !== undefined && !scan) throw new UsageError("sync: --tag-prefix goes with --scan");
      return copy(ctx, open, {
        source,
        destination,
        flags: copyFlags,
        single: false,
        ...(scan ? { scan: tagPrefix !== undefined ? { tagPrefix } : {} } : {}),
      });
    },
  };
}

export const syncCommand = syncCommandWith(openEndpoints);

export interface CopyRequest {
  source: string;
  destination: string;
  flags: {
    parallel?: string;
    platform?: string[];
    prefix?: string;
    referrers?: boolean;
    force?: boolean;
    "keep-going"?: boolean;
    "dry-run"?: boolean;
    json?: boolean;
    [registryFlag: string]: unknown;
  };
  /** push: the source must name exactly one image. */
  single: boolean;
  /** sync --scan: every image into the one repository DEST names. */
  scan?: { tagPrefix?: string };
}

/** sync and push: open both ends, plan or copy, render, close, exit code. */
export async function copy(ctx: CommandContext, open: OpenEndpoints, request: CopyRequest): Promise<number> {
  const { flags } = request;
  const command = request.single ? "push" : "sync";
  const parallel = flags.parallel === undefined ? undefined : parseParallel(command, flags.parallel);
  const platforms = parsePlatforms(command, flags.platform ?? []);
  const { parallel: _p, platform: _pl, prefix: prefixText, referrers, force, "keep-going": keepGoing, "dry-run": dryRun, json, ...registry } = flags;
  const prefix = prefixText === undefined ? undefined : parsePrefix(command, prefixText);
  const registries = await copyRegistryOptions(registry, ctx);
  const endpoints = await open({
    source: request.source,
    destination: request.destination,
    ...(request.scan ? { scan: request.scan } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    sourceRegistry: registries.source,
    destinationRegistry: registries.destination,
  });
  try {
    const source = request.single ? exactlyOne(endpoints.source, request.source) : endpoints.source;
    const reporter = new SyncReporter(ctx, { mode: dryRun ? "plan" : json ? "json" : "text" });
    const options = {
      parallel: parallel ?? defaultParallel(endpoints.local ?? false),
      platforms,
      referrers: referrers ?? false,
      force: force ?? false,
      keepGoing: keepGoing ?? false,
      signal: ctx.signal,
      onEvent: reporter.listener,
    };
    if (dryRun) {
      let view;
      try {
        view = viewPlan(await planSync(source, endpoints.destination, options));
      } finally {
        reporter.stop();
      }
      ctx.stdout.write(json ? `${JSON.stringify(view)}\n` : formatPlan(view));
      if (ctx.signal.aborted) return 130;
      return view.totals.images.failed > 0 ? EXIT.failure : EXIT.ok;
    }
    let summary;
    try {
      summary = await syncImages(source, endpoints.destination, options);
    } finally {
      reporter.stop();
    }
    if (summary.interrupted) {
      ctx.stderr.write("stevedore: interrupted; the same command again finishes the copy, moving only what is missing\n");
      return 130;
    }
    return summary.images.failed > 0 || summary.images.cancelled > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await closeEndpoints(endpoints);
  }
}

/** Towards or from a registry DEFAULT_PARALLEL, between local ends LOCAL_PARALLEL. */
export function defaultParallel(local: boolean): number {
  return local ? LOCAL_PARALLEL : DEFAULT_PARALLEL;
}

function parseParallel(command: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) {
    throw new UsageError(`${command}: --parallel must be a whole number from 1 to 1024, got ${JSON.stringify(text)}`);
  }
  return n;
}

function parsePrefix(command: string, text: string): string {
  try {
    return checkPathPrefix(text);
  } catch (error) {
    if (error instanceof TransportError) throw new UsageError(`${command}: ${error.message}`, command);
    throw error;
  }
}

function parsePlatforms(command: string, texts: string[]): Platform[] {
  return texts.map((text) => {
    try {
      return parsePlatform(text);
    } catch (error) {
      if (error instanceof PlatformError) throw new UsageError(`${command}: ${error.message}`);
      throw error;
    }
  });
}

function exactlyOne(source: SourceEndpoint, text: string): SourceEndpoint {
  return {
    home: source.home,
    list: async () => {
      const images = await source.list();
      if (images.length !== 1) {
        throw new CommandError(
          `${JSON.stringify(text)} names ${images.length} images; push copies one (name it, or use 'stevedore sync' for all)`,
        );
      }
      return images;
    },
  };
}
