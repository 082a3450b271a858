/**
 * Rewrite the image references in YAML text (Kubernetes manifests, Helm
 * values) and leave every other byte as it was: the text is parsed only to
 * find where each reference sits, then the new text is spliced in at those
 * offsets, inside the same quotes.
 *
 * Found: every `image:` string anywhere (containers, initContainers,
 * ephemeralContainers of every workload kind, CronJob job templates, Helm
 * values), and maps with a `repository` string that sit under an
 * `...image...` key or carry `tag`, `registry` or `digest` beside it (Helm
 * `image: {repository, tag}`, Bitnami `image: {registry, repository, tag,
 * digest}`). Tags and digests are never changed.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node, type Pair, type Scalar } from "yaml";
import { DEFAULT_DOMAIN, parseNormalizedReference, Reference, ReferenceError } from "../reference/index.ts";
import { RewriteError } from "./errors.ts";
import type { Origins } from "./origins.ts";
import { isAtSite, originPath, type SiteRegistry, sitePath, toSite } from "./site-naming.ts";

export interface RewriteOptions {
  site: SiteRegistry;
  /** Map site references back to their origins. */
  reverse?: boolean;
  /** For `reverse`: where the images came from; without it, docker.io is assumed. */
  origins?: Origins;
}

export interface Change {
  line: number;
  column: number;
  /** The scalar's value before and after. */
  old: string;
  new: string;
}

export interface RewriteWarning {
  line: number;
  message: string;
}

export interface RewriteResult {
  text: string;
  changes: Change[];
  warnings: RewriteWarning[];
}

interface Edit {
  node: Scalar;
  value: string;
}

const MAP_MARKERS = ["tag", "registry", "digest"];

/**
 * Rewrite `text`. `source` names it in errors (a path, or `-`). Throws
 * RewriteError for malformed YAML and, in reverse, for references whose
 * origin is unknown or ambiguous; nothing is returned half-done.
 */
export function rewriteYaml(text: string, source: string, options: RewriteOptions): RewriteResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const warnings: RewriteWarning[] = [];
  const edits: Edit[] = [];
  const lineOf = (offset: number) => lineCounter.linePos(offset);
  const context: Context = { options, source, text, edits, warnings, lineOf };
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const pos = lineOf(error.pos[0]);
      throw new RewriteError(`invalid YAML: ${error.message.replace(/ at line \d+, column \d+.*$/s, "")}`, source, pos.line, pos.col);
    }
    if (doc.contents) walk(doc.contents as Node, undefined, context);
  }
  return splice(text, edits, context);
}

interface Context {
  options: RewriteOptions;
  source: string;
  text: string;
  edits: Edit[];
  warnings: RewriteWarning[];
  lineOf(offset: number): { line: number; col: number };
}

function walk(node: Node, parentKey: string | undefined, ctx: Context): void {
  if (isSeq(node)) {
    for (const item of node.items) if (item) walk(item as Node, parentKey, ctx);
    return;
  }
  if (!isMap(node)) return;
  const pairs = node.items as Pair<unknown, unknown>[];
  const byKey = new Map<string, Pair<unknown, unknown>>();
  for (const pair of pairs) {
    if (isScalar(pair.key) && typeof pair.key.value === "string") byKey.set(pair.key.value, pair);
  }
  const repository = byKey.get("repository")?.value;
  if (
    isScalar(repository) &&
    typeof repository.value === "string" &&
    repository.value !== "" &&
    ((parentKey !== undefined && /image/i.test(parentKey)) || MAP_MARKERS.some((k) => byKey.has(k)))
  ) {
    rewriteImageMap(byKey, repository as Scalar<string>, ctx);
  }
  for (const pair of pairs) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    const value = pair.value;
    if (key === "image" && isScalar(value)) {
      if (typeof value.value === "string" && value.value !== "") rewriteImageString(value as Scalar<string>, ctx);
      continue;
    }
    if (value && typeof value === "object") walk(value as Node, key, ctx);
  }
}

/** `image: nginx:1.25` */
function rewriteImageString(node: Scalar<string>, ctx: Context): void {
  const ref = parseOrWarn(node.value, node, ctx);
  if (!ref) return;
  const { site, reverse } = ctx.options;
  if (!reverse) {
    if (!isAtSite(site, ref)) addEdit(ctx, node, toSite(site, ref).toString());
    return;
  }
  const origin = reverseName(ref, node, ctx);
  if (origin) addEdit(ctx, node, origin.written + suffix(ref.tag, ref.digest));
}

/** `{registry, repository, tag, digest}` */
function rewriteImageMap(byKey: Map<string, Pair<unknown, unknown>>, repository: Scalar<string>, ctx: Context): void {
  const registryPair = byKey.get("registry");
  const registryNode = isScalar(registryPair?.value) ? (registryPair.value as Scalar) : undefined;
  if (registryPair && !registryNode) {
    ctx.warnings.push({ line: ctx.lineOf(repository.range![0]).line, message: "the image's registry is not a plain value; left unchanged" });
    return;
  }
  const registry = registryNode && registryNode.value !== null ? String(registryNode.value) : "";
  const combined = registry ? `${registry}/${repository.value}` : repository.value;
  const ref = parseOrWarn(combined, repository, ctx);
  if (!ref) return;
  const inline = repositorySuffix(repository.value);
  const { site, reverse } = ctx.options;
  if (!reverse) {
    if (isAtSite(site, ref)) return;
    if (registryNode) {
      addEdit(ctx, registryNode, site.registry);
      addEdit(ctx, repository, sitePath(site, ref) + inline);
    } else {
      addEdit(ctx, repository, toSite(site, ref).withoutTagOrDigest().toString() + inline);
    }
    return;
  }
  const tagValue = byKey.get("tag")?.value;
  const digestValue = byKey.get("digest")?.value;
  const tag = ref.tag ?? scalarText(tagValue, ctx);
  const digest = ref.digest ?? (scalarText(digestValue, ctx) as Reference["digest"]);
  const origin = reverseName(new Reference(ref.domain, ref.path, tag, digest), repository, ctx);
  if (!origin) return;
  if (registryNode) {
    const [, path] = splitWrittenDomain(origin.written);
    addEdit(ctx, registryNode, origin.domain);
    addEdit(ctx, repository, path + inline);
  } else {
    addEdit(ctx, repository, origin.written + inline);
  }
}

/**
 * Where a site reference came from: the domain, and its name in the form
 * to write back. Undefined (with no edit) for references not at the site.
 */
function reverseName(ref: Reference, node: Scalar, ctx: Context): { domain: string; written: string } | undefined {
  const { site, origins } = ctx.options;
  if (!isAtSite(site, ref)) return undefined;
  const path = originPath(site, ref);
  if (path === undefined) {
    ctx.warnings.push({
      line: ctx.lineOf(node.range![0]).line,
      message: `${JSON.stringify(String(node.value))} is at the site registry but not under the prefix ${JSON.stringify(site.prefix)}; left unchanged`,
    });
    return undefined;
  }
  if (origins) {
    let origin;
    try {
      origin = origins.lookup(path, String(node.value), ref.tag, ref.digest);
    } catch (error) {
      if (error instanceof RewriteError) {
        const pos = ctx.lineOf(node.range![0]);
        throw new RewriteError(error.message, ctx.source, pos.line, pos.col);
      }
      throw error;
    }
    return { domain: origin.ref.domain, written: origin.written };
  }
  // As the original Unwrap: the site path is a docker.io path, written in
  // the short form docker prints (library/nginx → nginx) unless that short
  // form would read as another registry.
  const docker = new Reference(DEFAULT_DOMAIN, path);
  const familiar = docker.familiarName;
  const safe = parseNormalizedReference(familiar).name === docker.name;
  return { domain: DEFAULT_DOMAIN, written: safe ? familiar : docker.name };
}

/** Split a name as written into its registry (if it names one, by docker's rule) and path. */
function splitWrittenDomain(written: string): [string | undefined, string] {
  const slash = written.indexOf("/");
  if (slash < 0) return [undefined, written];
  const first = written.slice(0, slash);
  if (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase()) return [first, written.slice(slash + 1)];
  return [undefined, written];
}

function suffix(tag?: string, digest?: string): string {
  return (tag ? `:${tag}` : "") + (digest ? `@${digest}` : "");
}

/** A `:tag` or `@digest` written inside a `repository` value, kept as it is. */
function repositorySuffix(repository: string): string {
  const at = repository.indexOf("@");
  const name = at >= 0 ? repository.slice(0, at) : repository;
  const colon = name.lastIndexOf(":");
  const start = colon > name.lastIndexOf("/") ? colon : at;
  return start >= 0 ? repository.slice(start) : "";
}

/**
 * A scalar as written, without quotes: `tag: 1.10` is the tag "1.10",
 * not the number 1.1.
 */
function scalarText(node: unknown, ctx: Context): string | undefined {
  if (!isScalar(node) || node.value === null || !node.range) return undefined;
  const written = ctx.text.slice(node.range[0], node.range[1]);
  const text = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? written.slice(1, -1) : written;
  return text || undefined;
}

function parseOrWarn(text: string, node: Scalar, ctx: Context): Reference | undefined {
  try {
    return parseNormalizedReference(text);
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    ctx.warnings.push({
      line: ctx.lineOf(node.range![0]).line,
      message: `${JSON.stringify(text)} is not an image reference (${error.message}); left unchanged`,
    });
    return undefined;
  }
}

function addEdit(ctx: Context, node: Scalar, value: string): void {
  const current = node.value === null ? "" : String(node.value);
  if (current !== value) ctx.edits.push({ node, value });
}

/** Apply the edits: each replaces the text of one scalar, inside its quotes. */
function splice(text: string, edits: Edit[], ctx: Context): RewriteResult {
  const changes: Change[] = [];
  const pieces: { start: number; end: number; text: string }[] = [];
  for (const { node, value } of edits) {
    const [start, end] = node.range!;
    const written = text.slice(start, end);
    const old = node.value === null ? "" : String(node.value);
    let replacement: string | undefined;
    if (node.value === null && (written === "" || written === "~" || written === "null")) {
      // An empty `registry:`: give it a value, after a space.
      replacement = written === "" && text[start - 1] === ":" ? ` ${value}` : value;
    } else if (node.type === "PLAIN" && written === old) replacement = value;
    else if (node.type === "QUOTE_DOUBLE" && written === `"${old}"`) replacement = `"${value}"`;
    else if (node.type === "QUOTE_SINGLE" && written === `'${old}'`) replacement = `'${value}'`;
    const pos = ctx.lineOf(start);
    if (replacement === undefined) {
      ctx.warnings.push({ line: pos.line, message: `${JSON.stringify(old)} is written in a form this tool does not rewrite (escapes, block or multi-line scalar); left unchanged` });
      continue;
    }
    pieces.push({ start, end, text: replacement });
    changes.push({ line: pos.line, column: pos.col, old, new: value });
  }
  pieces.sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let at = 0;
  for (const p of pieces) {
    parts.push(text.slice(at, p.start), p.text);
    at = p.end;
  }
  parts.push(text.slice(at));
  const out = parts.join("");
  changes.sort((a, b) => a.line - b.line || a.column - b.column);
  ctx.warnings.sort((a, b) => a.line - b.line);
  return { text: out, changes, warnings: ctx.warnings };
}
