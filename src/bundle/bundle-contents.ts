/**
 * What a bundle will hold, decided from the copy's plan before anything
 * moves: each image's tree (manifests from the plan, or from the output
 * being replaced where the plan found them present), the referrers that
 * came with them, the layers a delta leaves to its base, and the
 * documents (index.json, manifest.json). The same content gives the same
 * documents, whatever order the blobs arrive in.
 */
import { type Digest, digestOf } from "../digest/index.ts";
import { type Descriptor, manifestReferences } from "../oci/index.ts";
import type { ManifestNode, SyncPlan } from "../sync/index.ts";
import { deltaAnnotations } from "../transports/index.ts";
import type { BaseBundle } from "./base-bundle.ts";
import { BundleError } from "./errors.ts";
import { type ImageRequest, refNameOf } from "./image-list.ts";
import { dockerLoadable, type ImageTree, type ReadBlob, walkImage } from "./image-tree.ts";
import { compare, type DockerImage, indexJson, manifestJson, type NamedEntry } from "./layout-documents.ts";
import { eventNameOf } from "./registry-source.ts";

export interface BundleContents {
  /** The images, each named by its reference. */
  named: NamedEntry[];
  /** Referrer manifests that came with them (unnamed index entries). */
  referrers: Descriptor[];
  /** Every blob the bundle holds (manifests, configs, layers): digest → size. */
  content: Map<Digest, number>;
  /** Blobs left to a delta's base: digest → size. */
  omitted: Map<Digest, number>;
  /** Manifest bytes known from the plan. */
  manifests: Map<Digest, Uint8Array>;
  index: Uint8Array;
  /** Digest of index.json: the bundle's identity. */
  indexDigest: Digest;
  manifestJson?: Uint8Array;
  /** Images manifest.json lists. */
  dockerImages: number;
}

export interface ContentsInput {
  images: ImageRequest[];
  plan: SyncPlan;
  /** Manifests the plan did not read (present in the output being replaced). */
  read: ReadBlob;
  base?: BaseBundle;
}

export async function bundleContents({ images, plan, read: readLocal, base }: ContentsInput): Promise<BundleContents> {
  const manifests = new Map<Digest, Uint8Array>();
  const referrerNodes: ManifestNode[] = [];
  const collect = (node: ManifestNode, referrer: boolean) => {
    manifests.set(node.digest, node.bytes);
    if (referrer) referrerNodes.push(node);
    for (const c of node.children) collect(c, false);
    for (const r of node.referrers) collect(r, true);
  };
  const roots = new Map<string, ManifestNode>();
  for (const p of plan.images) {
    if (!p.root) throw new BundleError(`${p.image}: the plan has no manifest for it`);
    roots.set(p.image, p.root);
    collect(p.root, false);
  }
  const read: ReadBlob = async (digest) => manifests.get(digest) ?? readLocal(digest);

  const named: NamedEntry[] = [];
  const trees: { request: ImageRequest; tree: ImageTree }[] = [];
  // Manifest digest → the repository its image lands in (referrers land beside their subject).
  const repositories = new Map<string, string>();
  for (const request of images) {
    const root = roots.get(eventNameOf(request));
    if (!root) throw new BundleError(`${request.name}: not in the plan`);
    const descriptor: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.bytes.byteLength };
    const tree = await complete(read, descriptor, request.name.toString());
    named.push({ refName: refNameOf(request.name), descriptor: withArtifactType(descriptor, tree) });
    trees.push({ request, tree });
    for (const m of tree.manifests) repositories.set(m.descriptor.digest, request.name.name);
  }
  const referrerTrees: ImageTree[] = [];
  const seen = new Set<string>();
  for (const node of referrerNodes) {
    if (seen.has(node.digest)) continue;
    seen.add(node.digest);
    const tree = await complete(read, { mediaType: node.mediaType, digest: node.digest, size: node.bytes.byteLength }, `referrer ${node.digest}`);
    const subject = manifestReferences(tree.manifests[0]!.parsed).subject;
    const repository = subject && repositories.get(subject.digest);
    if (repository) for (const m of tree.manifests) repositories.set(m.descriptor.digest, repository);
    referrerTrees.push(tree);
  }

  // A delta leaves a layer to its base when an image needs it in a repository the base has it in
  // (other repositories that need it mount it from there, as the copy does).
  const all = [...trees.map((t) => t.tree), ...referrerTrees];
  const left = new Set<string>();
  for (const tree of all) {
    const repository = repositories.get(tree.root.digest);
    for (const b of tree.blobs) {
      if (repository && base?.layers.get(b.descriptor.digest)?.repositories.has(repository)) left.add(b.descriptor.digest);
    }
  }
  const content = new Map<Digest, number>();
  const omitted = new Map<Digest, number>();
  for (const tree of all) {
    for (const m of tree.manifests) content.set(m.descriptor.digest, m.descriptor.size);
    for (const b of tree.blobs) {
      if (left.has(b.descriptor.digest)) omitted.set(b.descriptor.digest, b.descriptor.size);
      else content.set(b.descriptor.digest, b.descriptor.size);
    }
  }

  const referrers = referrerTrees.map((t) => withArtifactType(t.root, t));
  const annotations = base ? deltaAnnotations({ index: base.index, name: base.name, blobs: new Set(omitted.keys()) }) : undefined;
  const index = indexJson(named, referrers, annotations);
  // A delta cannot be loaded on its own: no manifest.json for docker.
  const docker = base ? [] : dockerImages(trees);
  return {
    named,
    referrers,
    content,
    omitted,
    manifests,
    index,
    indexDigest: digestOf(index),
    ...(docker.length ? { manifestJson: manifestJson(docker) } : {}),
    dockerImages: docker.length,
  };
}

/** A tree whose manifests must all be readable: the copy is about to fetch what it names. */
async function complete(read: ReadBlob, root: Descriptor, what: string): Promise<ImageTree> {
  const tree = await walkImage(read, root);
  const problem = tree.problems[0];
  if (problem) throw new BundleError(`${what}: ${problem.digest}: ${problem.message}`);
  return tree;
}

function withArtifactType(descriptor: Descriptor, tree: ImageTree): Descriptor {
  const parsed = tree.manifests[0]?.parsed;
  const artifactType = parsed?.kind === "index" ? parsed.index.artifactType : parsed?.manifest.artifactType;
  return artifactType ? { ...descriptor, artifactType } : descriptor;
}

/** manifest.json entries: one per distinct loadable image, with all its tags. */
function dockerImages(trees: { request: ImageRequest; tree: ImageTree }[]): DockerImage[] {
  const byContent = new Map<string, DockerImage>();
  for (const { request, tree } of trees) {
    const image = dockerLoadable(tree);
    if (!image || image.parsed.kind !== "image") continue;
    const config = image.parsed.manifest.config.digest;
    const layers = manifestReferences(image.parsed).blobs.slice(1).map((d) => d.digest);
    const key = [config, ...layers].join(",");
    let entry = byContent.get(key);
    if (!entry) byContent.set(key, (entry = { repoTags: [], config, layers }));
    if (request.name.tag) entry.repoTags.push(`${request.name.name}:${request.name.tag}`);
  }
  for (const entry of byContent.values()) entry.repoTags.sort(compare);
  return [...byContent.values()];
}
