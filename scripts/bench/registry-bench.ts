/**
 * `stevedore serve` against the CNCF registry, side by side in one run, the
 * same client for both: start-up, memory, skopeo push and pull of the
 * bundle, /v2/ latency, manifest request rates, large-blob downloads with
 * 1, 8 and 32 clients, and memory while a blob of gigabytes is pushed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaType } from "../../src/oci/index.ts";
import { downloadBlob, pushBlob } from "./blob-http.ts";
import type { BenchContext } from "./context.ts";
import { runLoad } from "./load.ts";
import { type PeerKind, type Registry, startRegistry } from "./peers.ts";
import { median, memoryOf, MiB, RssSampler } from "./proc.ts";
import type { Row } from "./results.ts";
import { bundleImages, skopeoPull, skopeoPush } from "./skopeo-loop.ts";
import { randomBlob } from "./workload.ts";

const KINDS: PeerKind[] = ["stevedore", "docker-registry"];
const BENCH = "registry";
const ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(", ");

type PerKind<T> = Record<PeerKind, T>;

/** One measurement for each registry; a failure on either side becomes the row's error. */
async function both<T>(work: (kind: PeerKind) => Promise<T>): Promise<{ values: Partial<PerKind<T>>; error?: string }> {
  const values: Partial<PerKind<T>> = {};
  const errors: string[] = [];
  for (const kind of KINDS) {
    try {
      values[kind] = await work(kind);
    } catch (error) {
      errors.push(`${kind}: ${(error as Error).message}`);
    }
  }
  return { values, ...(errors.length ? { error: errors.join("; ") } : {}) };
}

function row(base: Omit<Row, "bench" | "stevedore" | "peer" | "peerName">, measured: { values: Partial<PerKind<number>>; error?: string }): Row {
  return {
    bench: BENCH,
    ...base,
    stevedore: measured.values.stevedore ?? null,
    peer: measured.values["docker-registry"] ?? null,
    peerName: "docker-registry",
    ...(measured.error ? { error: measured.error } : {}),
  };
}

const mib = (bytes: number) => bytes / MiB;

export async function registryBench(ctx: BenchContext): Promise<void> {
  const { sizes, bundle } = ctx;
  const images = bundleImages(bundle);
  const opts = { stevedore: ctx.stevedore };

  ctx.log("registry: start-up time");
  const startups: PerKind<number[]> = { stevedore: [], "docker-registry": [] };
  const started = await both(async (kind) => {
    for (let i = 0; i < sizes.startupTrials; i++) {
      const r = await startRegistry(kind, opts);
      startups[kind].push(r.startupMs);
      await r.stop();
    }
    return median(startups[kind]);
  });
  ctx.add(row({ name: "start-up to first 200 on /v2/ (median)", unit: "ms", better: "lower", target: 1 }, started));

  const servers: Partial<PerKind<Registry>> = {};
  try {
    const up = await both(async (kind) => (servers[kind] = await startRegistry(kind, opts)));
    if (up.error) throw new Error(up.error);
    const server = (kind: PeerKind) => servers[kind]!;
    await Bun.sleep(1000);
    ctx.add(row({ name: "RSS at idle (fresh store)", unit: "MiB", better: "lower", target: 1 }, await both(async (k) => mib(memoryOf(server(k).pid)!.rss))));

    ctx.log(`registry: skopeo push of ${images.length} images (${mib(bundle.bytes).toFixed(0)} MiB)`);
    const push = await both((k) => skopeoPush(bundle, server(k).host));
    ctx.add(
      row(
        { name: `skopeo push, ${images.length} images one by one`, unit: "s", better: "lower", target: 1, note: `${mib(bundle.bytes).toFixed(0)} MiB, skopeo copy --all per image` },
        push,
      ),
    );

    ctx.log("registry: skopeo pull back");
    const pull = await both(async (k) => {
      const dir = mkdtempSync(join(tmpdir(), "bench-pull-"));
      try {
        return await skopeoPull(bundle, server(k).host, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    ctx.add(row({ name: `skopeo pull, ${images.length} images to oci:`, unit: "s", better: "lower", target: 1 }, pull));

    ctx.log("registry: /v2/ latency");
    const latency = await both((k) =>
      runLoad({ urls: [`${server(k).url}/v2/`], method: "GET", concurrency: 1, seconds: sizes.latencySeconds, warmupSeconds: sizes.warmupSeconds }).then(failOnErrors),
    );
    const pick = (key: "p50" | "p99") => ({
      values: Object.fromEntries(Object.entries(latency.values).map(([k, v]) => [k, v[key]])) as Partial<PerKind<number>>,
      ...(latency.error ? { error: latency.error } : {}),
    });
    ctx.add(row({ name: "/v2/ latency p50, one client", unit: "ms", better: "lower", target: 1 }, pick("p50")));
    ctx.add(row({ name: "/v2/ latency p99, one client", unit: "ms", better: "lower", target: 1 }, pick("p99")));

    const loadRss: Partial<PerKind<number>> = {};
    const watched = async <T>(kind: PeerKind, work: () => Promise<T>): Promise<T> => {
      const sampler = new RssSampler(server(kind).pid);
      try {
        return await work();
      } finally {
        loadRss[kind] = Math.max(loadRss[kind] ?? 0, sampler.stop().max);
      }
    };

    for (const method of ["GET", "HEAD"] as const) {
      ctx.log(`registry: manifest ${method} requests per second`);
      const rate = await both((k) =>
        watched(k, () =>
          runLoad({
            urls: images.map((i) => `${server(k).url}/v2/${i.repository}/manifests/${i.tag}`),
            method,
            headers: { Accept: ACCEPT },
            concurrency: 32,
            seconds: sizes.loadSeconds,
            warmupSeconds: sizes.warmupSeconds,
          }).then(failOnErrors),
        ),
      );
      ctx.add(
        row(
          { name: `manifest ${method} by tag, 32 connections`, unit: "req/s", better: "higher", target: 1.5 },
          { values: Object.fromEntries(Object.entries(rate.values).map(([k, v]) => [k, v.perSecond])), ...(rate.error ? { error: rate.error } : {}) },
        ),
      );
    }

    ctx.log(`registry: ${mib(sizes.bigBlob).toFixed(0)} MiB blob downloads`);
    const big = await randomBlob(sizes.bigBlob, ctx.log);
    const uploaded = await both((k) => pushBlob(server(k).url, "bench/big", big));
    for (const clients of [1, 8, 32]) {
      const rounds = Math.max(1, Math.ceil(sizes.downloads / clients));
      const rate = uploaded.error ? uploaded : await both((k) => watched(k, () => downloadBlob(server(k).url, "bench/big", big, clients, rounds)));
      ctx.add(row({ name: `blob GET ${mib(big.size).toFixed(0)} MiB, ${clients} client${clients > 1 ? "s" : ""}`, unit: "MB/s", better: "higher", target: 1 }, rate));
    }
    ctx.add(
      row(
        { name: "RSS under load (max during request rows)", unit: "MiB", better: "lower", target: 1 },
        { values: Object.fromEntries(Object.entries(loadRss).map(([k, v]) => [k, mib(v)])) },
      ),
    );

    ctx.log(`registry: pushing a ${mib(sizes.hugeBlob).toFixed(0)} MiB blob while watching RSS`);
    const huge = await randomBlob(sizes.hugeBlob, ctx.log);
    const growth: Partial<PerKind<number>> = {};
    const hugePush = await both(async (k) => {
      const sampler = new RssSampler(server(k).pid);
      try {
        return huge.size / 1e6 / (await pushBlob(server(k).url, "bench/huge", huge));
      } finally {
        growth[k] = mib(sampler.stop().growth);
      }
    });
    ctx.add(row({ name: `push ${mib(huge.size).toFixed(0)} MiB blob (POST, PATCH, PUT)`, unit: "MB/s", better: "higher", target: 1 }, hugePush));
    ctx.add(
      row(
        { name: `RSS growth while pushing ${mib(huge.size).toFixed(0)} MiB`, unit: "MiB", better: "lower", target: 1, limit: 64, note: "target: a few tens of MiB (limit 64)" },
        { values: growth, ...(hugePush.error ? { error: hugePush.error } : {}) },
      ),
    );
    ctx.add(
      row({ name: "RSS peak over the run (VmHWM)", unit: "MiB", better: "lower", target: 1 }, await both(async (k) => mib(memoryOf(server(k).pid)!.hwm))),
    );
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}

function failOnErrors<T extends { errors: number; requests: number; firstError?: string }>(result: T): T {
  if (result.errors > 0) throw new Error(`${result.errors} of ${result.errors + result.requests} requests failed (${result.firstError})`);
  return result;
}
