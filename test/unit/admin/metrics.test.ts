/** GET /metrics: Prometheus text that parses line by line, with the registry's requests, bytes and the store's counts. */
import { expect, test } from "bun:test";
import { LATENCY_BUCKETS } from "../../../src/admin/index.ts";
import { blob, configBlob, imageManifest } from "../store/fixtures.ts";
import { parsePrometheus } from "../../helpers/prometheus.ts";
import { adminHarness } from "./harness.ts";

test("metrics parse, and count the registry's requests, bytes, latency and the store", async () => {
  await using h = await adminHarness();
  const layer = blob("layer bytes for metrics");
  const config = configBlob();
  for (const b of [layer, config]) await h.registry(`/v2/acme/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
  const m = imageManifest(config, [layer]);
  await h.registry("/v2/acme/app/manifests/1.0", { method: "PUT", body: m.bytes, headers: { "Content-Type": m.mediaType } });
  await h.registry("/v2/acme/app/manifests/1.0");
  await h.registry(`/v2/acme/app/blobs/${layer.digest}`);
  await h.registry("/v2/acme/app/manifests/nope");
  await h.store.startUpload("acme/app");

  const res = await h.api("GET", "/metrics");
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const lines = parsePrometheus(await res.text());
  const value = (name: string, labels: Record<string, string> = {}) =>
    lines.find((l) => l.name === name && Object.entries(labels).every(([k, v]) => l.labels[k] === v))?.value;

  expect(value("stevedore_http_requests_total", { method: "POST", route: "uploads", status: "201" })).toBe(2);
  expect(value("stevedore_http_requests_total", { method: "PUT", route: "manifest", status: "201" })).toBe(1);
  expect(value("stevedore_http_requests_total", { method: "GET", route: "manifest", status: "200" })).toBe(1);
  expect(value("stevedore_http_requests_total", { method: "GET", route: "manifest", status: "404" })).toBe(1);
  expect(value("stevedore_http_received_bytes_total")).toBe(layer.size + config.size + m.size);
  expect(value("stevedore_http_sent_bytes_total")).toBeGreaterThanOrEqual(m.size + layer.size);
  expect(value("stevedore_uploads_in_progress")).toBe(1);
  expect(value("stevedore_store_blobs")).toBe(2);
  expect(value("stevedore_store_blob_bytes")).toBe(layer.size + config.size);
  expect(value("stevedore_store_manifests")).toBe(1);
  expect(value("stevedore_store_repositories")).toBe(1);
  expect(value("stevedore_build_info", { version: "test" })).toBe(1);
  expect(value("stevedore_gc_runs_total")).toBe(0);

  // The histogram: cumulative buckets ending in +Inf = count.
  const buckets = lines.filter((l) => l.name === "stevedore_http_request_duration_seconds_bucket" && l.labels.route === "manifest" && l.labels.method === "GET");
  expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BUCKETS.map(String), "+Inf"]);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  expect(buckets.at(-1)!.value).toBe(2);
  expect(value("stevedore_http_request_duration_seconds_count", { method: "GET", route: "manifest" })).toBe(2);
  expect(value("stevedore_http_request_duration_seconds_sum", { method: "GET", route: "manifest" })).toBeGreaterThan(0);
});

test("label values are escaped", async () => {
  const { formatFamilies } = await import("../../../src/admin/index.ts");
  const text = formatFamilies([{ name: "x_total", help: "a\\b\nc", type: "counter", samples: [{ labels: { v: 'q"\\\n' }, value: 1 }] }]);
  expect(text).toBe('# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{v="q\\"\\\\\\n"} 1\n');
  expect(parsePrometheus(text)).toEqual([{ name: "x_total", labels: { v: 'q\\"\\\\\\n' }, value: 1 }]);
});
