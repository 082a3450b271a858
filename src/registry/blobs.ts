/** GET, HEAD and DELETE of /v2/<name>/blobs/<digest>: range reads, zero-copy bodies. */
import { OciError } from "../oci/index.ts";
import { canLinkBlobs } from "../store/index.ts";
import { type HandlerContext, deletingHome, digestParam, empty, headers, notModified } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { parseRange } from "./http-range.ts";

export async function getBlob(ctx: HandlerContext, name: string, digestText: string): Promise<Response> {
  const digest = digestParam(digestText);
  const etag = `"${digest}"`;
  const common = {
    "Docker-Content-Digest": digest,
    ETag: etag,
    "Accept-Ranges": "bytes",
    // Content-addressed: the bytes behind this URL never change.
    "Cache-Control": "max-age=31536000",
  };
  if (ctx.method === "HEAD") {
    const size = await ctx.home.statBlob(name, digest);
    if (size === undefined) throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${JSON.stringify(name)}`);
    return empty(200, { ...common, "Content-Type": "application/octet-stream", "Content-Length": size });
  }
  if (ctx.options.blobRedirect && canLinkBlobs(ctx.home)) {
    // The client fetches (and ranges) from the object store itself; the URL expires, so no long caching.
    const url = await ctx.home.blobUrl(name, digest);
    if (url) return empty(307, { "Docker-Content-Digest": digest, Location: url });
  }
  const content = await ctx.home.blob(name, digest);
  if (notModified(ctx.request, etag)) return empty(304, common);
  const range = parseRange(ctx.request.headers.get("range"), content.size);
  if (range === "unsatisfiable") {
    const error = new OciError("RANGE_INVALID", `range not satisfiable for a blob of ${content.size} bytes`, undefined, 416);
    return errorResponse(error, { "Content-Range": `bytes */${content.size}` });
  }
  const body = content.blob ? content.blob(range) : content.stream(range);
  if (!range) {
    return new Response(body, {
      status: 200,
      headers: headers({ ...common, "Content-Type": "application/octet-stream", "Content-Length": content.size }),
    });
  }
  return new Response(body, {
    status: 206,
    headers: headers({
      ...common,
      "Content-Type": "application/octet-stream",
      "Content-Length": range.end - range.start,
      "Content-Range": `bytes ${range.start}-${range.end - 1}/${content.size}`,
    }),
  });
}

export async function deleteBlob(ctx: HandlerContext, name: string, digestText: string): Promise<Response> {
  const home = deletingHome(ctx);
  const digest = digestParam(digestText);
  await home.deleteBlob(name, digest);
  return empty(202);
}
