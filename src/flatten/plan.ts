/**
 * Pass one of a flatten: read the layers from the top one down, keeping
 * only path names, and decide which entry of which layer survives into
 * the flat filesystem. An entry survives unless a later layer wrote the
 * same path, deleted it or an ancestor (`.wh.name`), made an ancestor
 * opaque (`.wh..wh..opq`), or put a non-directory where an ancestor was.
 * Within one layer the last entry for a path wins; a layer's whiteouts
 * apply only to the layers below it.
 *
 * Hard links: a link made in layer N shares the content its target had
 * in layer N. When that target entry does not survive (overwritten or
 * deleted later) but links to it do, its content is written under the
 * first surviving link's name and the other links point there.
 */
import { ancestorsOf, classify, parentOf } from "./entry-path.ts";
import { FlattenError } from "./errors.ts";
import { describeLayer, type LayerEntry, type LayerRef } from "./layer-entries.ts";
import type { TarHeader } from "./tar-format.ts";

/** An entry's place in the image: layer and ordinal in one number. */
export type Position = number;
export const position = (layer: number, ordinal: number): Position => layer * 2 ** 32 + ordinal;
const layerOf = (p: Position) => Math.floor(p / 2 ** 32);

/** A survivor: its position, times two, plus one for a directory. */
const code = (p: Position, dir: boolean) => p * 2 + (dir ? 1 : 0);
const isDirCode = (c: number) => c % 2 === 1;
const positionOf = (c: number): Position => Math.floor(c / 2);

export interface FlattenPlan {
  /** Path → the surviving entry (as a code; see `survives`). */
  readonly winners: Map<string, number>;
  /** Headers of surviving directories, so parents can be written before children. */
  readonly dirs: Map<string, TarHeader>;
  /** Hardlink targets that do not survive: position → the name their content is written under. */
  readonly moved: Map<Position, string>;
  /** Surviving hardlinks → the name they link to; "" when the content was written under their own name. */
  readonly links: Map<Position, string>;
}

export function survives(plan: FlattenPlan, path: string, at: Position, dir: boolean): boolean {
  return plan.winners.get(path) === code(at, dir);
}

export interface PlanOptions {
  /** Entries of layer `i`, in tar order. */
  entries(layer: number): AsyncIterable<LayerEntry>;
  layers: Pick<LayerRef, "index" | "count" | "layer">[];
  onLayer?(layer: number): void;
}

export async function planFlatten({ entries, layers, onLayer }: PlanOptions): Promise<FlattenPlan> {
  const winners = new Map<string, number>();
  const dirs = new Map<string, TarHeader>();
  const deleted = new Set<string>();
  const opaque = new Set<string>();
  // Hardlink bookkeeping: only links and the entries they point at.
  const linkTarget = new Map<Position, Position>();
  const linkPositions: Position[] = [];
  const pathAt = new Map<Position, string>();
  let pending = new Map<string, Position[]>();

  for (let i = layers.length - 1; i >= 0; i--) {
    onLayer?.(i);
    const where = describeLayer(layers[i]!);
    const shadowed = (path: string): boolean => {
      if (deleted.has(path)) return true;
      const own = winners.get(path);
      if (own !== undefined && layerOf(positionOf(own)) > i) return true;
      for (const a of ancestorsOf(path)) {
        if (deleted.has(a) || opaque.has(a)) return true;
        const w = winners.get(a);
        if (w !== undefined && !isDirCode(w) && layerOf(positionOf(w)) > i) return true;
      }
      return false;
    };
    const layerDeleted = new Set<string>();
    const layerOpaque = new Set<string>();
    /** The latest entry of this layer for each path, as a code. */
    const layerLast = new Map<string, number>();
    const pendingBelow = new Map<string, Position[]>();
    const linkTo = (link: Position, target: Position, targetPath: string, targetIsDir: boolean, linkPath: string) => {
      if (targetIsDir) throw new FlattenError(`${where}: hardlink ${JSON.stringify(linkPath)} points to directory ${JSON.stringify(targetPath)}`);
      linkTarget.set(link, target);
      pathAt.set(target, targetPath);
    };

    for await (const entry of entries(i)) {
      const { path, header } = entry;
      if (path === "") continue; // the root directory itself
      const kind = classify(path);
      if (kind.kind === "whiteout") {
        layerDeleted.add(kind.target);
        continue;
      }
      if (kind.kind === "opaque") {
        layerOpaque.add(kind.dir);
        continue;
      }
      if (kind.kind === "ignored") continue;
      const at = position(i, entry.ordinal);
      const dir = header.type === "directory";
      if (header.type === "link") {
        const target = entry.linkPath ?? "";
        if (target === "") throw new FlattenError(`${where}: hardlink ${JSON.stringify(header.name)} points to the root directory`);
        linkPositions.push(at);
        pathAt.set(at, path);
        const earlier = layerLast.get(target);
        if (earlier !== undefined) linkTo(at, positionOf(earlier), target, isDirCode(earlier), path);
        else pendingBelow.set(target, [...(pendingBelow.get(target) ?? []), at]);
      }
      layerLast.set(path, code(at, dir));
      if (shadowed(path)) continue;
      winners.set(path, code(at, dir));
      if (dir) dirs.set(path, header);
      else dirs.delete(path);
    }

    // Links from the layers above whose target is in this layer.
    for (const [target, links] of pending) {
      const here = layerLast.get(target);
      if (here !== undefined) {
        for (const link of links) linkTo(link, positionOf(here), target, isDirCode(here), pathAt.get(link) ?? "");
        pending.delete(target);
        continue;
      }
      const gone =
        layerDeleted.has(target) ||
        ancestorsOf(target).some((a) => layerDeleted.has(a) || layerOpaque.has(a) || (layerLast.has(a) && !isDirCode(layerLast.get(a)!)));
      if (gone) throw brokenLink(layers, links[0]!, pathAt, target);
    }
    for (const [target, links] of pendingBelow) pending.set(target, [...(pending.get(target) ?? []), ...links]);
    for (const d of layerDeleted) deleted.add(d);
    for (const o of layerOpaque) opaque.add(o);
  }
  for (const [target, links] of pending) throw brokenLink(layers, links[0]!, pathAt, target);
  pending = new Map();

  // A survivor under a surviving non-directory cannot be written: a path
  // would be both a file and a directory.
  for (const path of winners.keys()) {
    for (let a = parentOf(path); a !== ""; a = parentOf(a)) {
      const w = winners.get(a);
      if (w === undefined) continue;
      if (!isDirCode(w)) {
        throw new FlattenError(
          `${describeLayer(layers[layerOf(positionOf(winners.get(path)!))]!)}: ${JSON.stringify(path)} lies under ${JSON.stringify(a)}, which is not a directory in the flattened image`,
        );
      }
      break;
    }
  }

  // Group surviving links by the entry that holds their content.
  const groups = new Map<Position, Position[]>();
  for (const link of linkPositions) {
    if (winners.get(pathAt.get(link)!) !== code(link, false)) continue;
    let source = link;
    while (linkTarget.has(source)) source = linkTarget.get(source)!;
    groups.set(source, [...(groups.get(source) ?? []), link]);
  }
  const moved = new Map<Position, string>();
  const links = new Map<Position, string>();
  for (const [source, members] of groups) {
    const sourcePath = pathAt.get(source)!;
    if (winners.get(sourcePath) === code(source, false)) {
      for (const m of members) links.set(m, sourcePath);
      continue;
    }
    members.sort((a, b) => a - b);
    const first = pathAt.get(members[0]!)!;
    moved.set(source, first);
    links.set(members[0]!, "");
    for (const m of members.slice(1)) links.set(m, first);
  }
  return { winners, dirs, moved, links };
}

function brokenLink(layers: PlanOptions["layers"], link: Position, pathAt: Map<Position, string>, target: string): FlattenError {
  return new FlattenError(
    `${describeLayer(layers[layerOf(link)]!)}: hardlink ${JSON.stringify(pathAt.get(link))} points to ${JSON.stringify(target)}, which does not exist in this or any lower layer`,
  );
}
