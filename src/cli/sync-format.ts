/** Text for sync and push: sizes, rates, the summary line, the dry-run plan. */
import type { PlanView, SyncSummary } from "../sync/index.ts";

/** Decimal units, as the MB/s next to them: 1 MB = 10^6 bytes. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** `1 manifest`, `2 manifests`. */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function formatRate(bytes: number, seconds: number): string {
  return `${(seconds > 0 ? bytes / 1e6 / seconds : 0).toFixed(1)} MB/s`;
}

export function formatSummary(s: SyncSummary): string {
  const images = [`${s.images.synced} synced`, `${s.images.skipped} skipped`, `${s.images.failed} failed`];
  if (s.images.cancelled > 0) images.push(`${s.images.cancelled} not done`);
  return (
    `images: ${images.join(", ")} · blobs: ${s.blobs.pushed} pushed, ${s.blobs.mounted} mounted, ${s.blobs.skipped} skipped` +
    ` · ${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s (${s.mbPerSecond.toFixed(1)} MB/s)`
  );
}

const ACTIONS = { copy: "copy", tag: "tag", present: "present", failed: "FAILED", cancelled: "not planned" } as const;

/** One line per image, then the totals. */
export function formatPlan(view: PlanView): string {
  const lines = view.images.map((i) => {
    const head = `${ACTIONS[i.action].padEnd(7)}  ${i.image} -> ${i.target ?? "?"}`;
    if (i.action === "failed") return `${head}: ${i.error}`;
    if (i.action !== "copy") return head;
    const changed = i.sourceDigest ? ` (platforms chosen: ${i.sourceDigest} -> ${i.digest})` : "";
    return `${head}: ${count(i.blobs.push, "blob")} to push (${formatBytes(i.bytes)}), ${i.blobs.mount} to mount, ${i.blobs.skip} present, ${count(i.manifests, "manifest")}${changed}`;
  });
  const t = view.totals;
  lines.push(
    `total: ${count(t.images.total, "image")} (${t.images.copy} to copy, ${t.images.tag} to tag, ${t.images.present} present, ${t.images.failed} failed)` +
      ` · ${count(t.blobs.push, "blob")} to push (${formatBytes(t.bytes.push)}), ${t.blobs.mount} to mount (${formatBytes(t.bytes.mount)}),` +
      ` ${t.blobs.skip} present · ${t.manifests} manifests and tags to write`,
  );
  return `${lines.join("\n")}\n`;
}
