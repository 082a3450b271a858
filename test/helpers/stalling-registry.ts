/**
 * A registry serving one image, `acme/slow:1`, whose layer sends its first
 * 4 KiB and then nothing more until the test says so: a copy from it is
 * running, with bytes moved, for as long as the test needs.
 *
 * - Without `layerSize`, the layer claims 1 GiB and is never finished: a
 *   copy runs until it is cancelled (`hungUp` resolves when the client goes).
 * - With `layerSize`, the layer is real bytes; `release()` sends the rest,
 *   and the copy completes.
 *
 * `streaming` resolves when the layer has started.
 */
export function stallingRegistry(options: { layerSize?: number } = {}) {
  const HEAD = 4096;
  const real = options.layerSize !== undefined;
  const size = options.layerSize ?? 1 << 30;
  const layer = real ? new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff) : new Uint8Array(HEAD).fill(7);
  const sha256 = (bytes: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
  const { promise: streaming, resolve: onStreaming } = Promise.withResolvers<void>();
  const { promise: hungUp, resolve: onHangUp } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layerDigest = real ? sha256(layer) : `sha256:${"ab".repeat(32)}`;
  const configDigest = sha256(config);
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size }],
    }),
  );
  const manifestDigest = sha256(manifest);
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
        if (request.method === "HEAD") return new Response(null, { headers: { "Content-Length": String(size) } });
        request.signal.addEventListener("abort", () => onHangUp());
        return new Response(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(layer.slice(0, HEAD));
              onStreaming();
              if (!real) return;
              await released;
              controller.enqueue(layer.slice(HEAD));
              controller.close();
            },
            cancel() {
              onHangUp();
            },
          }),
          { headers: { "Content-Length": String(size) } },
        );
      }
      return new Response(JSON.stringify({ errors: [{ code: "NOT_FOUND", message: path }] }), { status: 404 });
    },
  });
  return {
    source: `docker://127.0.0.1:${server.port}/acme/slow:1`,
    manifestDigest,
    streaming,
    hungUp,
    release: () => release(),
    stop: () => server.stop(true),
  };
}
