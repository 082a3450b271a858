/**
 * A small in-memory Distribution API for client tests: enough of manifests,
 * blobs, uploads (monolithic, chunked, resumable), mounts and paginated
 * lists to exercise the client, plus fault injection.
 */
import { digestOf } from "../../../src/digest/index.ts";
import { fakeServer, json, ociError } from "./fake-server.ts";

type Fault = (request: Request, url: URL) => Response | undefined;

export function miniRegistry(options: { pageSize?: number; chunkMin?: number } = {}) {
  const blobs = new Map<string, Uint8Array>(); // `${repo}@${digest}`
  const manifests = new Map<string, { bytes: Uint8Array; type: string; digest: string }>(); // `${repo}:${ref}`
  const uploads = new Map<string, { repo: string; data: Uint8Array }>();
  const faults: Fault[] = [];
  let uploadId = 0;

  const server = fakeServer((request, body, url) => {
    for (const fault of faults) {
      const answer = fault(request, url);
      if (answer) return answer;
    }
    const path = url.pathname;
    if (path === "/v2/") return json({});
    if (path === "/v2/_catalog") {
      const repos = [...new Set([...manifests.keys()].map((k) => k.slice(0, k.indexOf(":"))))].sort();
      return page(repos, "repositories", url, {});
    }
    let m = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (m) {
      const tags = [...manifests.keys()].filter((k) => k.startsWith(`${m![1]}:`)).map((k) => k.slice(m![1]!.length + 1)).filter((t) => !t.includes(":")).sort();
      if (tags.length === 0) return ociError(404, "NAME_UNKNOWN");
      return page(tags, "tags", url, { name: m[1] });
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) {
      const [, repo, ref] = m as unknown as [string, string, string];
      if (request.method === "PUT") {
        const digest = digestOf(body);
        const entry = { bytes: body, type: request.headers.get("content-type") ?? "", digest };
        manifests.set(`${repo}:${ref}`, entry);
        manifests.set(`${repo}:${digest}`, entry);
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest, location: `/v2/${repo}/manifests/${digest}` } });
      }
      const entry = manifests.get(`${repo}:${ref}`);
      if (!entry) return ociError(404, "MANIFEST_UNKNOWN", "manifest unknown");
      return new Response(request.method === "HEAD" ? null : (entry.bytes as Uint8Array<ArrayBuffer>), {
        headers: { "content-type": entry.type, "docker-content-digest": entry.digest, "content-length": String(entry.bytes.byteLength) },
      });
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
    if (m) {
      const data = blobs.get(`${m[1]}@${m[2]}`);
      if (!data) return ociError(404, "BLOB_UNKNOWN", "blob unknown to registry");
      const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range") ?? "");
      if (range) {
        const slice = data.subarray(Number(range[1]), Number(range[2]) + 1);
        return new Response(request.method === "HEAD" ? null : (slice as Uint8Array<ArrayBuffer>), { status: 206, headers: { "content-length": String(slice.byteLength) } });
      }
      return new Response(request.method === "HEAD" ? null : (data as Uint8Array<ArrayBuffer>), { headers: { "content-length": String(data.byteLength), "docker-content-digest": m[2]! } });
    }
    m = /^\/v2\/(.+)\/blobs\/uploads\/(\w*)$/.exec(path);
    if (m) {
      const [, repo, id] = m as unknown as [string, string, string];
      if (request.method === "POST") {
        const mount = url.searchParams.get("mount");
        const from = url.searchParams.get("from");
        if (mount && from && blobs.has(`${from}@${mount}`)) {
          blobs.set(`${repo}@${mount}`, blobs.get(`${from}@${mount}`)!);
          return new Response(null, { status: 201, headers: { location: `/v2/${repo}/blobs/${mount}` } });
        }
        const digest = url.searchParams.get("digest");
        if (digest && !mount) return commit(repo, digest, body);
        const newId = String(++uploadId);
        uploads.set(newId, { repo, data: new Uint8Array(0) });
        return new Response(null, { status: 202, headers: { location: `/v2/${repo}/blobs/uploads/${newId}?_state=${newId}`, range: "0-0", ...(options.chunkMin ? { "oci-chunk-min-length": String(options.chunkMin) } : {}) } });
      }
      const upload = uploads.get(id);
      if (!upload) return ociError(404, "BLOB_UPLOAD_UNKNOWN");
      const status = () => ({ location: `/v2/${repo}/blobs/uploads/${id}?_state=${upload.data.byteLength}`, range: `0-${Math.max(0, upload.data.byteLength - 1)}` });
      if (request.method === "GET") return new Response(null, { status: 204, headers: status() });
      if (request.method === "DELETE") {
        uploads.delete(id);
        return new Response(null, { status: 204 });
      }
      if (request.method === "PATCH") {
        const range = /^(\d+)-(\d+)$/.exec(request.headers.get("content-range") ?? "");
        if (range && Number(range[1]) !== upload.data.byteLength) return new Response(null, { status: 416, headers: status() });
        upload.data = Buffer.concat([upload.data, body]);
        return new Response(null, { status: 202, headers: status() });
      }
      if (request.method === "PUT") {
        upload.data = Buffer.concat([upload.data, body]);
        uploads.delete(id);
        return commit(repo, url.searchParams.get("digest") ?? "", upload.data);
      }
    }
    return new Response("404 page not found", { status: 404 });
  });

  function commit(repo: string, digest: string, data: Uint8Array) {
    if (digestOf(data) !== digest) return ociError(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
    blobs.set(`${repo}@${digest}`, data);
    return new Response(null, { status: 201, headers: { location: `/v2/${repo}/blobs/${digest}`, "docker-content-digest": digest } });
  }

  function page(all: string[], field: string, url: URL, extra: Record<string, unknown>) {
    const n = Math.min(Number(url.searchParams.get("n") ?? 100), options.pageSize ?? 100);
    const last = url.searchParams.get("last");
    const rest = last ? all.filter((x) => x > last) : all;
    const items = rest.slice(0, n);
    const headers: Record<string, string> = {};
    if (rest.length > n) headers.link = `<${url.pathname}?last=${encodeURIComponent(items.at(-1)!)}&n=${n}>; rel="next"`;
    return json({ ...extra, [field]: items }, { headers });
  }

  return {
    ...server,
    blobs,
    manifests,
    uploads,
    /** Add a fault: a function that answers some requests before the registry does. */
    fault(f: Fault) {
      faults.push(f);
    },
  };
}
