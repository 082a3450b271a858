import { RegistryClient } from "../client/index.ts";
import { OciError } from "../oci/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseImageArgument } from "./image-argument.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";
import { parseFetched, parsePlatformFlag, selectFromIndex } from "./select-platform.ts";

export const digestCommand: Command = {
  name: "digest",
  summary: "Print the manifest digest of an image",
  help: `Usage: stevedore digest IMAGE [--platform os/arch[/variant]] [registry flags]

Print the digest of IMAGE's manifest as the registry holds it (for a
multi-arch image, the digest of the index). Asks with HEAD: nothing is
downloaded.

Options:
  --platform P   for a multi-arch image, the digest of the image for P instead
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { ...REGISTRY_FLAGS, platform: { type: "string" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("digest: expected one IMAGE");
    const image = parseImageArgument(flags.positionals[0]!);
    const platform = parsePlatformFlag(flags.values.platform);
    const client = RegistryClient.open(image.registry, await registryOptions(flags.values, ctx));
    try {
      const descriptor = await client.headManifest(image.repository, image.reference);
      if (!descriptor) throw new CommandError(`${image.name}: manifest unknown to registry`);
      if (!platform) {
        ctx.stdout.write(`${descriptor.digest}\n`);
        return EXIT.ok;
      }
      const parsed = parseFetched(await client.getManifest(image.repository, descriptor.digest));
      if (parsed.kind !== "index") throw new CommandError(`${image.name} is a single image, not a multi-arch index: --platform does not apply`);
      ctx.stdout.write(`${selectFromIndex(image.name.toString(), parsed, platform).digest}\n`);
    } catch (error) {
      if (OciError.is(error, "NAME_UNKNOWN")) throw new CommandError(`${image.name}: repository unknown to registry`);
      throw error;
    } finally {
      client.close();
    }
    return EXIT.ok;
  },
};
