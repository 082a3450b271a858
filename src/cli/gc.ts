/**
 * `stevedore gc`: remove what no release needs from a store (the original
 * `CleanRegistry(dir, requiredImages)`), safe beside a running `serve`.
 */
import { type GcOptions, GcError, type GcProgress, type GcReport, type RetentionRules, runGc } from "../store/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { readKeepSources } from "./gc-keep.ts";
import { openStoreFromFlags, STORE_FLAGS, STORE_FLAGS_HELP } from "./open-store.ts";
import { progressLine } from "./progress-line.ts";
import { count, formatBytes } from "./sync-format.ts";
import { writeReport } from "./write-report.ts";

export const gcCommand: Command = {
  name: "gc",
  summary: "Remove images no release needs from a store, and sweep unused blobs",
  help: `Usage: stevedore gc [--root DIR] [--keep FILE|BUNDLE]... [OPTIONS]

Remove what no release needs from the store under --root (or the shared
store --metadata and --blobs name). Safe while "stevedore serve" runs on
the same store and clients push: nothing pushed, tagged or linked within
the grace window goes, and every delete re-checks under lock that nothing
came to need it since.

With --keep, every tag the keep lists do not name is removed, then every
manifest only removed tags reached (an index's children, and artifacts
whose subject goes), then every blob no remaining manifest of any
repository references. A keep list is an image list (one reference per
line, # comments; or the YAML list "bundle create" reads) or a bundle (an
OCI layout directory or a tar of one). An image matches the store
repository of its path: docker.io/library/nginx:1.25 keeps library/nginx:1.25
(lists naming the site registry work too). Images not in the store are
reported and keep nothing more; keep lists that match nothing at all are
refused unless --force (a typo must not empty the registry).

Without --keep (and without retention rules) no tag is removed: gc sweeps
blobs no manifest references, and with --delete-untagged manifests no tag
reaches (pushed by digest only).

Options:
${STORE_FLAGS_HELP}
  --keep PATH          image list or bundle whose images stay (repeatable)
  --prefix P           the images were synced under this repository prefix
  --delete-untagged    also remove manifests no tag reaches
  --keep-recent N      retention: keep the N most recently pushed tags of each repository
  --keep-within DUR    retention: keep tags pushed or pulled within DUR (e.g. 30d)
  --tag-pattern REGEX  the tags retention rules apply to (whole tag; default all);
                       without --keep, other tags stay
  --grace DUR          leave anything newer than this alone (default 1h)
  --dry-run            report what would be removed; change nothing
  --force              run even when the keep lists match nothing in the store
  --json               print the report as one JSON object
  -h, --help

Exit code: 0 when done, 1 on errors, 2 on bad usage, 130 when interrupted.`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      ...STORE_FLAGS,
      keep: { type: "string", multiple: true },
      prefix: { type: "string" },
      "delete-untagged": { type: "boolean" },
      "keep-recent": { type: "string" },
      "keep-within": { type: "string" },
      "tag-pattern": { type: "string" },
      grace: { type: "string", default: "1h" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      json: { type: "boolean" },
    });
    if (!flags) return EXIT.ok;
    const v = flags.values;
    if (flags.positionals.length > 0) throw new UsageError(`gc: unexpected argument ${JSON.stringify(flags.positionals[0])}`, "gc");
    const retention = retentionRules(v["keep-recent"], v["keep-within"], v["tag-pattern"], "gc");
    const graceMs = parseGrace(v.grace);

    // Every keep list is read, and must be valid, before the store is touched.
    const sources = v.keep ? await readKeepSources(v.keep, v.prefix) : undefined;
    for (const warning of sources?.warnings ?? []) ctx.stderr.write(`stevedore: warning: ${warning}\n`);

    const store = await openStoreFromFlags(v, ctx.env, "gc");
    // A phase's total is drawn at once, so the line shows what is ahead.
    const progress = progressLine<GcProgress>(ctx, (e) => `gc: ${e.phase} ${e.done}${e.total !== undefined ? `/${e.total}` : ""}`, (e) => e.total !== undefined);
    let report: GcReport;
    try {
      const options: GcOptions = {
        ...(sources ? { keep: sources.entries } : {}),
        ...(retention ? { retention } : {}),
        deleteUntagged: v["delete-untagged"] ?? false,
        graceMs,
        dryRun: v["dry-run"] ?? false,
        force: v.force ?? false,
        onProgress: progress.update,
      };
      report = await runGc(store, options, ctx.signal);
    } catch (error) {
      if (error instanceof GcError) throw new CommandError(`gc: ${error.message.replace("(force the run to remove every image)", "(--force removes every image)")}`);
      throw error;
    } finally {
      progress.clear();
      await store.close();
    }
    for (const warning of report.warnings) ctx.stderr.write(`stevedore: warning: ${warning}\n`);
    return writeReport(ctx, report, v.json, formatGcReport, "gc interrupted; what is listed was done, the rest is untouched");
  },
};

/** A grace window: a duration, or 0 (no window: what is unused now goes now). */
export function parseGrace(text: string, flag = "--grace"): number {
  return text === "0" ? 0 : parseDuration(text, flag);
}

/** Retention flags (also a serve option): undefined when none is given. */
export function retentionRules(
  keepRecent: string | undefined,
  keepWithin: string | undefined,
  tagPattern: string | undefined,
  command: string,
  flagPrefix = "",
): RetentionRules | undefined {
  const flag = (name: string) => `--${flagPrefix}${name}`;
  if (keepRecent === undefined && keepWithin === undefined) {
    if (tagPattern !== undefined) throw new UsageError(`${command}: ${flag("tag-pattern")} needs ${flag("keep-recent")} or ${flag("keep-within")}`, command);
    return undefined;
  }
  const rules: RetentionRules = {};
  if (keepRecent !== undefined) {
    if (!/^\d+$/.test(keepRecent)) throw new UsageError(`${command}: ${flag("keep-recent")} must be a whole number, not ${JSON.stringify(keepRecent)}`, command);
    rules.keepRecent = Number(keepRecent);
  }
  if (keepWithin !== undefined) rules.keepWithinMs = parseDuration(keepWithin, flag("keep-within"));
  if (tagPattern !== undefined) {
    try {
      rules.tagPattern = new RegExp(tagPattern);
    } catch (error) {
      throw new UsageError(`${command}: ${flag("tag-pattern")}: ${(error as Error).message}`, command);
    }
  }
  return rules;
}

export function formatGcReport(r: GcReport): string {
  const verb = r.dryRun ? "would remove" : "removed";
  const lines: string[] = [];
  for (const t of r.tags) lines.push(`${verb} tag ${t.repository}:${t.tag} (${t.digest})`);
  for (const m of r.manifests) lines.push(`${verb} manifest ${m.repository}@${m.digest}`);
  for (const name of r.repositories) lines.push(`${verb} repository ${name}`);
  const parts = [count(r.tags.length, "tag"), count(r.manifests.length, "manifest"), `${count(r.blobs.count, "blob")} (${formatBytes(r.blobs.bytes)})`];
  if (r.unrecorded.count > 0) parts.push(`${count(r.unrecorded.count, "unrecorded file")} (${formatBytes(r.unrecorded.bytes)})`);
  if (r.repositories.length > 0) parts.push(count(r.repositories.length, "repository").replace("repositorys", "repositories"));
  const skipped = r.skipped.tags + r.skipped.manifests + r.skipped.blobs;
  lines.push(
    `gc${r.dryRun ? " (dry run)" : ""}: ${verb} ${parts.join(", ")}; ${r.dryRun ? "would free" : "freed"} ${formatBytes(r.bytesFreed)}` +
      `; kept ${count(r.kept.tags, "tag")}, ${count(r.kept.manifests, "manifest")}, ${count(r.kept.blobs, "blob")}` +
      (skipped > 0 ? ` (${skipped} changed by clients meanwhile, left alone)` : ""),
  );
  return `${lines.join("\n")}\n`;
}
