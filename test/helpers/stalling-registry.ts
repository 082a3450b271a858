/**
 * A registry serving one image, `acme/slow:1`, whose 1 GiB layer sends
 * 4 KiB and then nothing until the client hangs up: a copy from it runs
 * until it is cancelled. `streaming` resolves when the layer has started,
 * `hungUp` when the client went away.
 */
export function stallingRegistry() {
  const layerHead = new Uint8Array(4096).fill(7);
  const { promise: streaming, resolve: onStreaming } = Promise.withResolvers<void>();
  const { promise: hungUp, resolve: onHangUp } = Promise.withResolvers<void>();
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layerDigest = `sha256:${"ab".repeat(32)}`;
  const configDigest = `sha256:${new Bun.CryptoHasher("sha256").update(config).digest("hex")}`;
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: 1 << 30 }],
    }),
  );
  const manifestDigest = `sha256:${new Bun.CryptoHasher("sha256").update(manifest).digest("hex")}`;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/v2/" || path === "/v2") return Response.json({});
      if (path.endsWith("/manifests/1") || path.endsWith(`/manifests/${manifestDigest}`)) {
        const headers = { "Content-Type": "application/vnd.oci.image.manifest.v1+json", "Docker-Content-Digest": manifestDigest, "Content-Length": String(manifest.byteLength) };
        return new Response(request.method === "HEAD" ? null : manifest, { headers });
      }
      if (path.endsWith(`/blobs/${configDigest}`)) return new Response(config, { headers: { "Content-Length": String(config.byteLength) } });
      if (path.endsWith(`/blobs/${layerDigest}`)) {
        if (request.method === "HEAD") return new Response(null, { headers: { "Content-Length": String(1 << 30) } });
        request.signal.addEventListener("abort", () => onHangUp());
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(layerHead);
              onStreaming();
            },
            cancel() {
              onHangUp();
            },
          }),
          { headers: { "Content-Length": String(1 << 30) } },
        );
      }
      return new Response(JSON.stringify({ errors: [{ code: "NOT_FOUND", message: path }] }), { status: 404 });
    },
  });
  return { source: `docker://127.0.0.1:${server.port}/acme/slow:1`, streaming, hungUp, stop: () => server.stop(true) };
}
