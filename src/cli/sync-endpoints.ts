/**
 * The two ends of a copy, opened from the strings on the command line.
 * sync and push take an opener so their tests can hand them in-memory
 * endpoints; the real one goes through the transport parser.
 */
import type { RegistryClientOptions } from "../client/index.ts";
import { isClosable } from "../oci/index.ts";
import { type DestinationEndpoint, openDestination, openSource, type SourceEndpoint } from "../transports/index.ts";

export interface EndpointRequest {
  source: string;
  destination: string;
  /** `--prefix`: a path inserted in front of each destination repository. */
  prefix?: string;
  /** `--scan`: every image into the one repository DEST names (scan-naming.ts). */
  scan?: { tagPrefix?: string };
  /** From the registry flags (`--creds`, `--src-creds`, `--insecure`, ...); env and signal included. */
  sourceRegistry: RegistryClientOptions;
  /** The same for DEST (`--dest-creds` in place of the shared credentials). */
  destinationRegistry: RegistryClientOptions;
}

export interface Endpoints {
  source: SourceEndpoint;
  destination: DestinationEndpoint;
  /** Both ends on this machine (no registry): the copy is bound by disk and hashing, not by round trips. */
  local?: boolean;
}

export type OpenEndpoints = (request: EndpointRequest) => Promise<Endpoints>;

/** Through the transport parser; the source is closed again when the destination cannot be opened. */
export const openEndpoints: OpenEndpoints = async (request) => {
  const source = await openSource(request.source, { registry: request.sourceRegistry });
  try {
    const destination = await openDestination(request.destination, {
      registry: request.destinationRegistry,
      ...(request.prefix !== undefined ? { prefix: request.prefix } : {}),
      ...(request.scan ? { scan: request.scan } : {}),
    });
    return { source, destination, local: source.spec.transport !== "docker" && destination.spec.transport !== "docker" };
  } catch (error) {
    if (isClosable(source.home)) await source.home.close().catch(() => {});
    throw error;
  }
};

/**
 * Close what holds files or connections. Both are closed whatever happens;
 * a failure to close is reported (an archive destination commits on close).
 */
export async function closeEndpoints(endpoints: Endpoints): Promise<void> {
  const homes = new Set<object>([endpoints.source.home, endpoints.destination.home]);
  const results = await Promise.allSettled([...homes].map((home) => (isClosable(home) ? home.close() : undefined)));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
