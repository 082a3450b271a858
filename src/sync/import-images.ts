/**
 * Import into a home the caller already holds open: what the admin API
 * does with a bundle on the node that serves it (its own store), with
 * progress through `onEvent` and cancellation through `signal`. Images keep
 * their repository path (the domain is dropped), under `prefix` if given,
 * as a sync into a registry does.
 *
 *   const summary = await importImages("oci-archive:/media/app-7.1.tar", store, { signal, onEvent });
 */
import { type ImageHome, isClosable } from "../oci/index.ts";
import { destinationTarget, type OpenOptions, openSource } from "../transports/index.ts";
import type { SyncSummary } from "./events.ts";
import type { SyncOptions } from "./options.ts";
import { syncImages } from "./sync.ts";

export interface ImportOptions extends SyncOptions {
  /** A path in front of each repository. */
  prefix?: string;
  /** The repository of layout entries named by a bare tag. */
  repository?: string;
  /** Client options when the source is a registry. */
  registry?: OpenOptions["registry"];
}

export async function importImages(source: string, home: ImageHome, options: ImportOptions = {}): Promise<SyncSummary> {
  const { prefix, repository, registry, ...sync } = options;
  const opened = await openSource(source, { ...(repository ? { repository } : {}), ...(registry ? { registry } : {}) });
  try {
    const naming = { kind: "registry" as const, ...(prefix ? { prefix } : {}) };
    return await syncImages(opened, { home, target: (image) => destinationTarget(image.name, naming) }, sync);
  } finally {
    if (isClosable(opened.home)) await opened.home.close();
  }
}
