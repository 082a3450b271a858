/**
 * `stevedore migrate`: copy a whole store between drivers (a store
 * directory into PostgreSQL and S3 when a site grows to several nodes, or
 * back), every blob and manifest re-hashed on the way.
 */
import { stat } from "node:fs/promises";
import { copyStore, type CopyProgress, type CopyStoreReport, databasePath, Store } from "../store/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { resolveStoreFlags, type StoreFlags } from "./open-store.ts";
import { progressLine } from "./progress-line.ts";
import { parseSize } from "./serve.ts";
import { count, formatBytes } from "./sync-format.ts";
import { writeReport } from "./write-report.ts";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "Copy a store between drivers (files and SQLite, PostgreSQL and S3), verified",
  help: `Usage: stevedore migrate FROM TO [OPTIONS]

Copy every repository, blob, manifest and tag of one store into another,
where either side may keep its metadata in SQLite or PostgreSQL and its
blobs in a directory or an S3 bucket. Each blob streams through a digest
check on its way into the target and each manifest is re-hashed, as a push
would be; push, tag and pull times are kept. What the target has already
is skipped: run it again to finish an interrupted copy. Upload sessions in
progress are not copied. Stop the servers writing to the source first, or
copy again afterwards; nothing may write to the target meanwhile.

FROM is --from-root DIR, or --from-metadata URL with --from-blobs LOCATION
(either may also override part of --from-root). TO is the same with --to-.
  URL       sqlite://FILE or postgres://user:pass@host:5432/db
  LOCATION  a directory, or s3://bucket/prefix

Examples:
  stevedore migrate --from-root /var/lib/stevedore \\
    --to-metadata postgres://reg@db/stevedore --to-blobs s3://registry/site
  stevedore migrate --from-metadata postgres://reg@db/stevedore --from-blobs s3://registry/site \\
    --to-root /var/lib/stevedore

Options:
  --from-root DIR, --from-metadata URL, --from-blobs LOCATION
  --to-root DIR, --to-metadata URL, --to-blobs LOCATION
  --s3-endpoint URL      the object store of s3:// locations (default: AWS_ENDPOINT_URL);
                         a location may name its own with s3://bucket/prefix?endpoint=URL
  --s3-region REGION     its region (default: AWS_REGION, else us-east-1)
  --s3-part-size SIZE    multipart part size for uploads to S3 (default 16MiB)
  --parallel N           blobs copied at once (default 4)
  --json                 print the report as one JSON object
  -h, --help

Credentials for S3 come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
Exit code: 0 when done, 1 on errors, 2 on bad usage, 130 when interrupted.`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      "from-root": { type: "string" },
      "from-metadata": { type: "string" },
      "from-blobs": { type: "string" },
      "to-root": { type: "string" },
      "to-metadata": { type: "string" },
      "to-blobs": { type: "string" },
      "s3-endpoint": { type: "string" },
      "s3-region": { type: "string" },
      "s3-part-size": { type: "string" },
      parallel: { type: "string", default: "4" },
      json: { type: "boolean" },
    });
    if (!flags) return EXIT.ok;
    const v = flags.values;
    if (flags.positionals.length > 0) throw new UsageError(`migrate: unexpected argument ${JSON.stringify(flags.positionals[0])}`, "migrate");
    if (!/^[1-9]\d{0,2}$/.test(v.parallel)) throw new UsageError(`migrate: --parallel must be a number from 1 to 999, not ${JSON.stringify(v.parallel)}`, "migrate");
    const partSize = v["s3-part-size"] ? { partSize: parseSize(v["s3-part-size"], "--s3-part-size") } : {};
    const side = (prefix: "from" | "to"): StoreFlags => {
      const root = v[`${prefix}-root`];
      const metadata = v[`${prefix}-metadata`];
      const blobs = v[`${prefix}-blobs`];
      if (root === undefined && (metadata === undefined || blobs === undefined)) {
        throw new UsageError(`migrate: give --${prefix}-root DIR, or --${prefix}-metadata URL and --${prefix}-blobs LOCATION`, "migrate");
      }
      return { root, metadata, blobs, "s3-endpoint": v["s3-endpoint"], "s3-region": v["s3-region"] };
    };
    const [from, to] = [side("from"), side("to")];
    const fromResolved = resolveStoreFlags(from, ctx.env, "migrate", partSize);
    const toResolved = resolveStoreFlags(to, ctx.env, "migrate", partSize);
    if (fromResolved.metadata === toResolved.metadata || fromResolved.blobs === toResolved.blobs) {
      throw new UsageError("migrate: source and target share their metadata or their blobs; copy into another store", "migrate");
    }
    if (from.root !== undefined && from.metadata === undefined) {
      await stat(databasePath(from.root)).catch(() => {
        throw new CommandError(`migrate: no store at ${JSON.stringify(from.root)} (it has no ${JSON.stringify(databasePath(from.root!))})`);
      });
    }

    ctx.stderr.write(`stevedore: copying the store of metadata ${fromResolved.metadata}, blobs ${fromResolved.blobs}\n`);
    ctx.stderr.write(`stevedore: into metadata ${toResolved.metadata}, blobs ${toResolved.blobs}\n`);
    const source = await Store.open(fromResolved.options).catch((error: Error) => {
      throw new CommandError(`migrate: cannot open the source store: ${error.message}`);
    });
    let target: Store;
    try {
      target = await Store.open(toResolved.options);
    } catch (error) {
      await source.close();
      throw new CommandError(`migrate: cannot open the target store: ${(error as Error).message}`);
    }
    const progress = progressLine<CopyProgress>(ctx, (e) => `migrate: ${e.phase} ${e.done} (${formatBytes(e.bytes)})`);
    let report: CopyStoreReport;
    try {
      if ((await source.repositories({ limit: 1 })).length === 0) {
        throw new CommandError("migrate: the source store is empty; nothing to copy (is FROM right?)");
      }
      report = await copyStore(source, target, { parallel: Number(v.parallel), signal: ctx.signal, onProgress: progress.update });
    } catch (error) {
      if (error instanceof CommandError) throw error;
      throw new CommandError(`migrate: ${(error as Error).message}`);
    } finally {
      progress.clear();
      await source.close();
      await target.close();
    }
    return writeReport(ctx, report, v.json, formatCopyReport, "migrate interrupted; run it again to finish (what was copied stays)");
  },
};

export function formatCopyReport(r: CopyStoreReport): string {
  const seconds = (r.durationMs / 1000).toFixed(1);
  return (
    `migrate: copied ${count(r.blobs.copied, "blob")} (${formatBytes(r.blobs.bytes)}), ${count(r.manifests.copied, "manifest")}, ${count(r.tags, "tag")}` +
    ` in ${count(r.repositories, "repository").replace("repositorys", "repositories")} in ${seconds}s` +
    (r.blobs.present + r.manifests.present > 0 ? `; ${r.blobs.present + r.manifests.present} already in the target` : "") +
    "\n"
  );
}
