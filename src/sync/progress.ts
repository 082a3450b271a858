/**
 * Progress folded from events: what a progress line or a job's status
 * shows. Feed it every event; read `snapshot()` whenever.
 */
import type { SyncEvent } from "./events.ts";

export interface ProgressSnapshot {
  images: { total: number; done: number; failed: number };
  /** Bytes uploaded so far, and the total the plan expects to upload. */
  bytes: { done: number; total: number };
  blobs: { pushed: number; mounted: number };
  /** Uploads running now. */
  transfers: number;
  /** Planning is over. */
  planned: boolean;
}

export class SyncProgress {
  readonly #state: ProgressSnapshot = {
    images: { total: 0, done: 0, failed: 0 },
    bytes: { done: 0, total: 0 },
    blobs: { pushed: 0, mounted: 0 },
    transfers: 0,
    planned: false,
  };

  update(event: SyncEvent): void {
    const s = this.#state;
    switch (event.type) {
      case "planned":
        s.planned = true;
        s.images.total = event.totals.images.total;
        s.bytes.total = event.totals.bytes.push;
        break;
      case "blob-started":
        s.transfers++;
        break;
      case "blob-done":
        if (event.action === "pushed") {
          s.transfers--;
          s.blobs.pushed++;
        } else {
          s.blobs.mounted++;
        }
        break;
      case "blob-failed":
        s.transfers--;
        break;
      case "blob-progress":
        s.bytes.done += event.bytes;
        break;
      case "image-failed":
        s.images.failed++;
        s.images.done++;
        break;
      case "image-done":
      case "image-cancelled":
        s.images.done++;
        break;
    }
  }

  snapshot(): ProgressSnapshot {
    return structuredClone(this.#state);
  }
}
