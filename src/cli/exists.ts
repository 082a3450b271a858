import { RegistryClient } from "../client/index.ts";
import { OciError } from "../oci/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseImageArgument } from "./image-argument.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";

/** The answer could not be found out (registry down, access denied, …). */
const EXIT_UNKNOWN = 3;

export const existsCommand: Command = {
  name: "exists",
  summary: "Tell whether a registry has an image (exit code)",
  help: `Usage: stevedore exists IMAGE [registry flags]

Exit 0 when the registry has IMAGE, 1 when it does not. Prints nothing on
success or absence. One HEAD request.

Exit codes:
  0  the image exists
  1  the image (or its repository) does not exist
  2  usage error
  3  the question could not be answered (registry unreachable, access
     denied, ...): the reason is printed on stderr

Options:
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, REGISTRY_FLAGS);
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("exists: expected one IMAGE");
    const image = parseImageArgument(flags.positionals[0]!);
    let client: RegistryClient | undefined;
    try {
      client = RegistryClient.open(image.registry, await registryOptions(flags.values, ctx));
      const descriptor = await client.headManifest(image.repository, image.reference);
      return descriptor ? EXIT.ok : EXIT.failure;
    } catch (error) {
      if (OciError.is(error, "NAME_UNKNOWN") || OciError.is(error, "MANIFEST_UNKNOWN")) return EXIT.failure;
      if (error instanceof UsageError || ctx.signal.aborted) throw error;
      const message = error instanceof OciError ? `${error.code}: ${error.message}` : (error as Error).message;
      throw new CommandError(`cannot tell whether ${image.name} exists: ${message}`, EXIT_UNKNOWN);
    } finally {
      client?.close();
    }
  },
};
