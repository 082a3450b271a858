/** GET, HEAD, PUT and DELETE of /v2/<name>/manifests/<tag|digest>. */
import { type Digest, isDigest } from "../digest/index.ts";
import { bareMediaType, manifestReferences, OciError, parseManifest } from "../oci/index.ts";
import { patterns } from "../reference/index.ts";
import { Store } from "../store/index.ts";
import { readManifestBody } from "./body.ts";
import { type HandlerContext, deletingHome, digestParam, empty, headers, notModified, writableHome } from "./context.ts";

/** A tag, or a digest when it has a colon (tags cannot). Throws TAG_INVALID / DIGEST_INVALID. */
function checkReference(reference: string): { digest?: Digest; tag?: string } {
  if (reference.includes(":")) return { digest: digestParam(reference) };
  return { tag: checkTag(reference) };
}

/**
 * A reference to read or delete. A tag that breaks the grammar names no
 * manifest: 404 MANIFEST_UNKNOWN, as distribution answers (its routes
 * never match such a tag) and as the conformance suite expects of
 * `GET /manifests/.INVALID_MANIFEST_NAME`. Writes still say TAG_INVALID.
 */
function lookupReference(name: string, reference: string): { digest?: Digest; tag?: string } {
  if (reference.includes(":")) return { digest: digestParam(reference) };
  if (!patterns.ANCHORED_TAG.test(reference)) {
    throw new OciError("MANIFEST_UNKNOWN", `manifest ${JSON.stringify(reference.slice(0, 200))} is not in repository ${JSON.stringify(name)}`);
  }
  return { tag: reference };
}

function checkTag(tag: string): string {
  if (!patterns.ANCHORED_TAG.test(tag)) {
    throw new OciError("TAG_INVALID", `invalid tag ${JSON.stringify(tag.slice(0, 200))}: a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  return tag;
}

export async function getManifest(ctx: HandlerContext, name: string, reference: string): Promise<Response> {
  lookupReference(name, reference);
  if (ctx.method === "HEAD") {
    const d = await ctx.home.resolve(name, reference);
    return empty(200, {
      "Content-Type": d.mediaType,
      "Content-Length": d.size,
      "Docker-Content-Digest": d.digest,
      ETag: `"${d.digest}"`,
    });
  }
  const m = await ctx.home.manifest(name, reference);
  ctx.options.onPull?.(name, m.digest);
  const common = { "Docker-Content-Digest": m.digest, ETag: `"${m.digest}"` };
  if (notModified(ctx.request, common.ETag)) return empty(304, common);
  return new Response(m.bytes as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: headers({ ...common, "Content-Type": m.mediaType, "Content-Length": m.bytes.byteLength }),
  });
}

export async function putManifest(ctx: HandlerContext, name: string, reference: string): Promise<Response> {
  const home = writableHome(ctx);
  checkReference(reference);
  // More tags in one request: PUT by digest with ?tag=a&tag=b.
  const extraTags = ctx.url.searchParams.getAll("tag");
  for (const tag of extraTags) checkTag(tag);
  const bytes = await readManifestBody(ctx.request);
  const mediaType = bareMediaType(ctx.request.headers.get("content-type")) ?? "";
  const content = { bytes, mediaType };
  let digest: Digest;
  if (home instanceof Store) {
    digest = await home.putManifest(name, reference, content, { tags: extraTags });
  } else {
    digest = await home.putManifest(name, reference, content);
    for (const tag of extraTags) await home.putManifest(name, tag, content);
  }
  const subject = manifestReferences(parseManifest(bytes, mediaType)).subject;
  return empty(201, {
    Location: `/v2/${name}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
    ...(subject && isDigest(subject.digest) ? { "OCI-Subject": subject.digest } : {}),
    // The tags a ?tag= push set, so the client knows the registry honoured them.
    ...(extraTags.length > 0 ? { "OCI-Tag": extraTags.join(", ") } : {}),
  });
}

export async function deleteManifest(ctx: HandlerContext, name: string, reference: string): Promise<Response> {
  const home = deletingHome(ctx);
  const ref = lookupReference(name, reference);
  if (ref.digest) await home.deleteManifest(name, ref.digest);
  else await home.deleteTag(name, ref.tag!);
  return empty(202);
}
