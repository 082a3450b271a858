import { TRANSPORTS } from "../transports/index.ts";
import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { type OpenEndpoints, openEndpoints } from "./sync-endpoints.ts";
import { COPY_FLAGS, COPY_OPTIONS_HELP, copy } from "./sync.ts";

export function pushCommandWith(open: OpenEndpoints): Command {
  return {
    name: "push",
    summary: "Push one image into a registry, moving only what is missing",
    help: `Usage: stevedore push IMAGE REGISTRY [OPTIONS]

Copy the one image IMAGE names into REGISTRY: sync for a single image.

IMAGE:    oci:DIR:REF, oci-archive:FILE[:REF], docker-archive:FILE[:REF], store:DIR:REF,
          docker://HOST/REPO:TAG, ... (as for sync; it must name exactly one image)
REGISTRY: HOST[:PORT][/PATH] or docker://HOST[:PORT][/PATH]; the image keeps its
          repository path and tag (docker.io/acme/app:1.0 -> HOST/acme/app:1.0)

${COPY_OPTIONS_HELP}`,
    async run(ctx) {
      const flags = parseFlags(ctx, this, COPY_FLAGS);
      if (!flags) return EXIT.ok;
      const [image, registry, ...extra] = flags.positionals;
      if (!image || !registry) throw new UsageError("push: expected IMAGE and REGISTRY");
      if (extra.length) throw new UsageError(`push: unexpected argument ${JSON.stringify(extra[0])}`);
      if (!isRegistryArgument(registry)) {
        throw new UsageError(`push: REGISTRY must be a registry (HOST[:PORT][/PATH]), not ${JSON.stringify(registry)}; 'stevedore sync' copies into oci:, oci-archive: and store:`);
      }
      // The second argument is a registry by definition, even without a port that marks it as one.
      const destination = registry.includes("://") ? registry : `docker://${registry}`;
      return copy(ctx, open, { source: image, destination, flags: flags.values, single: true });
    },
  };
}

export const pushCommand = pushCommandWith(openEndpoints);

/**
 * A path, or another transport's prefix (`oci:DIR`), would otherwise be read
 * as a host name and fail with a message about reference grammar. A host
 * that happens to be called like a transport keeps working with its port.
 */
function isRegistryArgument(text: string): boolean {
  if (text.includes("://")) return text.startsWith("docker://");
  if (/^(?:\.{1,2}|~)?\//.test(text)) return false;
  const colon = text.indexOf(":");
  if (colon < 0) return true;
  const transport = text.slice(0, colon);
  const otherTransport = transport !== "docker" && (TRANSPORTS as readonly string[]).includes(transport);
  return !otherTransport || /^\d+(?:\/|$)/.test(text.slice(colon + 1));
}
