/**
 * Image lists: the files that name images for `bundle create`, `gc --keep`
 * and `rewrite --reverse --images`.
 *
 *   # images.txt: one reference per line; `#` starts a comment
 *   nginx:1.25
 *   quay.io/prometheus/node-exporter:v1.8.0   # the exporter
 *
 *   # images.yaml: entries are references, or objects that pin a digest
 *   # (the tag then only names the image) and the platforms to keep
 *   images:
 *     - nginx:1.25
 *     - image: quay.io/prometheus/node-exporter:v1.8.0
 *       digest: sha256:…
 *       platforms: [linux/amd64, linux/arm64]
 *
 * Every reference is normalised as docker does (`nginx` is
 * `docker.io/library/nginx:latest`). Errors name the file and line.
 */
import { isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { z } from "zod";
import { type Digest, isDigest } from "../digest/index.ts";
import { parsePlatform, type Platform, PlatformError } from "../oci/index.ts";
import { parseNormalizedReference, type Reference, ReferenceError } from "../reference/index.ts";
import { ImageListError } from "./errors.ts";

export interface ListedImage {
  /** Normalised; `latest` added when neither a tag nor a digest was given. A digest pins the content. */
  name: Reference;
  /** The reference as written (without `docker://`), for callers that give names back in the form they were read. */
  written: string;
  /** Where it was named: `images.txt:3`. */
  origin: string;
  /** Platforms to keep of a multi-arch image, when the list says. */
  platforms?: Platform[];
}

/** Parse one reference as a list writes it (`docker://` allowed); `origin` names it in the error. */
export function parseListedReference(text: string, origin: string): Reference {
  try {
    return parseNormalizedReference(withoutDockerScheme(text)).withDefaultTag();
  } catch (error) {
    if (error instanceof ReferenceError) throw new ImageListError(origin, error.describe());
    throw error;
  }
}

function withoutDockerScheme(text: string): string {
  return text.startsWith("docker://") ? text.slice("docker://".length) : text;
}

function listed(text: string, origin: string): ListedImage {
  return { name: parseListedReference(text, origin), written: withoutDockerScheme(text), origin };
}

/** An image list's text: YAML when the file name ends in .yaml or .yml, else one reference per line. */
export function parseImageList(text: string, file: string): ListedImage[] {
  return /\.ya?ml$/i.test(file) ? parseYamlList(text, file) : parseTextList(text, file);
}

function parseTextList(text: string, file: string): ListedImage[] {
  const out: ListedImage[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const origin = `${file}:${i + 1}`;
    if (/\s/.test(line)) throw new ImageListError(origin, `expected one image reference, got ${JSON.stringify(line)}`);
    if (line === "images:") throw new ImageListError(origin, `this looks like YAML; name the file *.yaml`);
    out.push(listed(line, origin));
  });
  return out;
}

const platformList = z.union([z.string(), z.array(z.string())]).transform((v) => (typeof v === "string" ? [v] : v));

const entrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    image: z.string().min(1),
    digest: z.string().optional(),
    platforms: platformList.optional(),
    platform: platformList.optional(),
  }),
]);

const listSchema = z.strictObject({ images: z.array(entrySchema) });

function parseYamlList(text: string, file: string): ListedImage[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (node: Node | undefined | null) => (node?.range ? lineCounter.linePos(node.range[0]).line : undefined);
  const at = (line: number | undefined) => (line === undefined ? file : `${file}:${line}`);
  const error = doc.errors[0];
  if (error) {
    throw new ImageListError(at(lineCounter.linePos(error.pos[0]).line), `invalid YAML: ${error.message.replace(/ at line \d+, column \d+.*$/s, "")}`);
  }
  const value: unknown = doc.toJS();
  if (typeof value !== "object" || value === null || Array.isArray(value) || !("images" in value)) {
    throw new ImageListError(at(lineOf(doc.contents as Node | null) ?? 1), "expected `images:` with a list of references or {image, digest, platforms}");
  }
  const result = listSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // The deepest node the issue's path reaches, for its line.
    let line: number | undefined;
    for (let depth = issue.path.length; depth >= 0 && line === undefined; depth--) {
      const path = issue.path.slice(0, depth) as (string | number)[];
      const node = depth === 0 ? doc.contents : (doc.getIn(path, true) as Node | undefined);
      line = lineOf(node);
    }
    const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
    throw new ImageListError(at(line), `${where}${issue.message}`);
  }
  const items = doc.getIn(["images"], true);
  return result.data.images.map((entry, i) => {
    const node = isSeq(items) ? (items.items[i] as Node | undefined) : undefined;
    const origin = at(lineOf(node));
    if (typeof entry === "string") return listed(entry, origin);
    const image = listed(entry.image, origin);
    if (entry.digest !== undefined) {
      const digestLine = isMap(node) ? lineOf(node.get("digest", true) as Node | undefined) : undefined;
      const digestOrigin = at(digestLine ?? lineOf(node));
      if (!isDigest(entry.digest)) throw new ImageListError(digestOrigin, `invalid digest ${JSON.stringify(entry.digest)}`);
      if (image.name.digest && image.name.digest !== entry.digest) {
        throw new ImageListError(digestOrigin, `${JSON.stringify(entry.image)} already pins ${image.name.digest}, not ${entry.digest}`);
      }
      image.name = image.name.withDigest(entry.digest as Digest);
    }
    if (entry.platform !== undefined && entry.platforms !== undefined) throw new ImageListError(origin, "give platforms or platform, not both");
    const texts = entry.platforms ?? entry.platform;
    if (texts === undefined) return image;
    if (texts.length === 0) throw new ImageListError(origin, "platforms is empty; leave it out to keep every platform");
    const platforms = texts.map((t) => {
      try {
        return parsePlatform(t);
      } catch (error) {
        if (error instanceof PlatformError) throw new ImageListError(origin, error.message);
        throw error;
      }
    });
    return { ...image, platforms };
  });
}
