/** `stevedore fsck`: verify a store (or, given a path, a bundle), and repair what is safe to repair. */
import { type FsckProgress, type FsckReport, runFsck } from "../store/index.ts";
import { bundleCommand } from "./bundle.ts";
import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { parseGrace } from "./gc.ts";
import { openStoreFromFlags, STORE_FLAGS, STORE_FLAGS_HELP } from "./open-store.ts";
import { progressLine } from "./progress-line.ts";
import { count, formatBytes } from "./sync-format.ts";
import { writeReport } from "./write-report.ts";

export const fsckCommand: Command = {
  name: "fsck",
  summary: "Verify a store (every blob re-hashed, every reference checked) or a bundle",
  help: `Usage: stevedore fsck [--root DIR] [--repair] [OPTIONS]
       stevedore fsck BUNDLE [--json]

Check the store under --root (or the shared store --metadata and --blobs
name): every blob is read and hashed again, every
manifest's bytes are hashed and parsed and what it references must be in
its repository, every tag must resolve, the blob files and the metadata
must agree, and upload sessions must be alive. Each problem is printed on
one line with what to do about it. Safe beside a running "stevedore serve".

--repair fixes what is safe to fix: it records references and links that
are missing, records again blob files that lost their row when a manifest
uses them, removes debris (files no row records and nothing uses, older
than --grace; abandoned uploads; rows of missing or corrupt blobs nothing
uses) and dangling tags. A blob a manifest uses is never deleted: when it is
corrupt, it is reported.

Given a BUNDLE (a tar or a directory), fsck runs "stevedore bundle verify".

Options:
${STORE_FLAGS_HELP}
  --repair             fix what is safe to fix
  --grace DUR          files without a row younger than this are pushes in flight (default 1h)
  --upload-ttl DUR     upload sessions idle this long are abandoned (default 24h)
  --parallel N         blobs hashed at once (default 4)
  --json               print the report as one JSON object
  -h, --help

Exit code: 0 when the store is sound (or every problem was repaired),
1 when problems remain, 2 on bad usage, 130 when interrupted.`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      ...STORE_FLAGS,
      repair: { type: "boolean" },
      grace: { type: "string", default: "1h" },
      "upload-ttl": { type: "string", default: "24h" },
      parallel: { type: "string" },
      json: { type: "boolean" },
    });
    if (!flags) return EXIT.ok;
    const v = flags.values;
    if (flags.positionals.length > 0) {
      if (flags.positionals.length > 1) throw new UsageError("fsck: expected at most one BUNDLE", "fsck");
      if (v.root !== undefined || v.metadata !== undefined || v.blobs !== undefined || v.repair) {
        throw new UsageError("fsck: a BUNDLE is checked as it is: --root, --metadata, --blobs and --repair are for stores", "fsck");
      }
      const argv = ["verify", flags.positionals[0]!, ...(v.json ? ["--json"] : []), ...(v.parallel ? ["--parallel", v.parallel] : [])];
      return bundleCommand.run({ ...ctx, argv });
    }
    const graceMs = parseGrace(v.grace);
    const uploadTtlMs = parseDuration(v["upload-ttl"], "--upload-ttl");
    if (uploadTtlMs <= 0) throw new UsageError("fsck: --upload-ttl must be more than zero", "fsck");
    const parallel = v.parallel === undefined ? 4 : Number(v.parallel);
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) {
      throw new UsageError(`fsck: --parallel must be a whole number from 1 to 64, not ${JSON.stringify(v.parallel)}`, "fsck");
    }

    const store = await openStoreFromFlags(v, ctx.env, "fsck");
    const progress = progressLine<FsckProgress>(ctx, (e) => `fsck: ${e.phase} ${e.done} · ${formatBytes(e.bytes)} hashed`);
    let report: FsckReport;
    try {
      report = await runFsck(store, { repair: v.repair ?? false, graceMs, uploadTtlMs, parallel, onProgress: progress.update }, ctx.signal);
    } finally {
      progress.clear();
      await store.close();
    }
    const code = writeReport(ctx, report, v.json, formatFsckReport, "fsck interrupted; the report covers what was checked");
    if (code !== EXIT.ok) return code;
    const left = report.problems.length - report.repaired;
    if (left > 0) {
      ctx.stderr.write(`stevedore: ${count(left, "problem")} in the store${v.repair ? " that --repair cannot fix" : ""}\n`);
      return EXIT.failure;
    }
    return EXIT.ok;
  },
};

export function formatFsckReport(r: FsckReport): string {
  const lines = r.problems.map((p) => `${p.repaired ? "repaired" : "PROBLEM"} ${p.kind}: ${p.message}: ${p.action}`);
  const c = r.checked;
  lines.push(
    `fsck: ${count(c.blobs, "blob")} (${formatBytes(c.bytes)}) hashed, ${count(c.manifests, "manifest")}, ${count(c.tags, "tag")}, ` +
      `${count(c.uploads, "upload")}, ${count(c.files, "file")} checked: ` +
      (r.problems.length === 0 ? "no problems" : `${count(r.problems.length, "problem")}, ${r.repaired} repaired`),
  );
  return `${lines.join("\n")}\n`;
}
