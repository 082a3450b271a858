/**
 * What planning and transfer share during one run: the two endpoints, the
 * two limiters (transfers and small requests), the run's stop signal and
 * the event sink.
 */
import type { DestinationEndpoint, SourceEndpoint } from "../transports/endpoint.ts";
import type { SyncEvent } from "./events.ts";
import { Limiter } from "./limiter.ts";
import { metadataLimit, type SyncOptions, transferLimit } from "./options.ts";
import { SingleFlight } from "./single-flight.ts";

export class SyncContext {
  readonly transfers: Limiter;
  readonly metadata: Limiter;
  /** Aborted when the caller cancels, or at the first failure unless keep-going. */
  readonly signal: AbortSignal;
  readonly #stop = new AbortController();
  /** Destination manifest checks, once per (repository, digest): two tags of one index share children. */
  readonly manifestChecks = new SingleFlight<boolean>();

  constructor(
    readonly source: SourceEndpoint,
    readonly destination: DestinationEndpoint,
    readonly options: SyncOptions,
  ) {
    this.transfers = new Limiter(transferLimit(options));
    this.metadata = new Limiter(metadataLimit(options));
    this.signal = options.signal ? AbortSignal.any([options.signal, this.#stop.signal]) : this.#stop.signal;
  }

  emit(event: SyncEvent): void {
    this.options.onEvent?.(event);
  }

  /** A small request, through the metadata limiter. */
  small<T>(request: () => Promise<T>): Promise<T> {
    return this.metadata.run(request, this.signal);
  }

  /** True when the caller cancelled (not when the run stopped itself after a failure). */
  get interrupted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /** An image failed: stop the others unless keep-going. */
  failed(): void {
    if (!this.options.keepGoing) this.#stop.abort(new Error("stopped after a failure"));
  }
}
