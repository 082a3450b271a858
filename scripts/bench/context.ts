/** What every benchmark gets from the runner: sizes, the executable, the workload, a place for rows. */
import type { Row } from "./results.ts";
import type { ReleaseOptions } from "../../test/helpers/images.ts";
import { MiB } from "./proc.ts";
import type { Bundle } from "./workload.ts";

export interface Sizes {
  label: "quick" | "full";
  release: ReleaseOptions;
  /** The blob downloaded by 1, 8 and 32 clients. */
  bigBlob: number;
  /** The blob pushed while the server's RSS is watched. */
  hugeBlob: number;
  /** Downloads of the big blob per client count: at least this many in total. */
  downloads: number;
  /** Measured seconds (and warm-up) of each request-rate row. */
  loadSeconds: number;
  warmupSeconds: number;
  /** Seconds of the sequential /v2/ latency row. */
  latencySeconds: number;
  startupTrials: number;
  /** Runs of stevedore's re-sync per trial. */
  resyncTrials: number;
  /** Alternating trials of each row between the peers; the best figure counts (trials.ts). */
  trials: number;
}

export const SIZES: Record<Sizes["label"], Sizes> = {
  // ~1.5 GiB: 42 layers of ~36 MiB (2 shared bases, 2 own per image) in 20 tagged images.
  full: {
    label: "full",
    release: { images: 18, layers: 2, layerSize: 36 * MiB, seed: "bench" },
    bigBlob: 256 * MiB,
    hugeBlob: 2048 * MiB,
    downloads: 4,
    loadSeconds: 5,
    warmupSeconds: 1,
    latencySeconds: 3,
    startupTrials: 5,
    resyncTrials: 3,
    trials: 2,
  },
  quick: {
    label: "quick",
    release: { images: 3, layers: 2, layerSize: 256 * 1024, seed: "bench" },
    bigBlob: 8 * MiB,
    hugeBlob: 32 * MiB,
    downloads: 2,
    loadSeconds: 0.5,
    warmupSeconds: 0.2,
    latencySeconds: 0.5,
    startupTrials: 1,
    resyncTrials: 1,
    trials: 1,
  },
};

export interface BenchContext {
  sizes: Sizes;
  /** argv prefix of the stevedore executable under test. */
  stevedore: string[];
  bundle: Bundle;
  log(line: string): void;
  add(row: Row): void;
}
