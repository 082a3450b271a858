/**
 * An image named on the command line for the registry commands: a docker
 * reference (`nginx:1.25`, `site:5000/app@sha256:…`), optionally written
 * `docker://…`. Normalised as docker does; `latest` when neither tag nor
 * digest is given.
 */
import { registryEndpoint } from "../client/index.ts";
import { parseNormalizedReference, type Reference, ReferenceError } from "../reference/index.ts";
import { UsageError } from "./command.ts";

export interface ImageArgument {
  /** `host[:port]` to connect to (`docker.io` for Docker Hub). */
  registry: string;
  repository: string;
  /** Digest if given, else tag. */
  reference: string;
  /** The normalised reference, for messages. */
  name: Reference;
}

export function parseImageArgument(input: string, options: { defaultTag?: boolean } = {}): ImageArgument {
  const text = input.startsWith("docker://") ? input.slice("docker://".length) : input;
  let ref: Reference;
  try {
    ref = parseNormalizedReference(text);
  } catch (error) {
    if (error instanceof ReferenceError) throw new UsageError(`invalid image ${error.describe().replace(/^[^:]*: /, "")}`);
    throw error;
  }
  if (options.defaultTag !== false) ref = ref.withDefaultTag();
  return { registry: registryEndpoint(ref.domain).registry, repository: ref.path, reference: ref.digest ?? ref.tag ?? "", name: ref };
}

/**
 * A registry argument: `host[:port]`, also accepted with `docker://`,
 * `http://` or `https://` (which then is the only scheme tried). Returns
 * the text to open the client with and the registry's name.
 */
export function parseRegistryArgument(input: string): { address: string; registry: string } {
  try {
    return { address: input.trim(), registry: registryEndpoint(input).registry };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
