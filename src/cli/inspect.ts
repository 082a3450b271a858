import { RegistryClient } from "../client/index.ts";
import { ContentMismatchError, type Digest, verifyStream } from "../digest/index.ts";
import { type ManifestContent, OciError } from "../oci/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { type ImageArgument, parseImageArgument } from "./image-argument.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";
import { describePlatform, parseFetched, parsePlatformFlag, selectFromIndex } from "./select-platform.ts";

/** Configs are small JSON documents; a bigger one is not a config. */
const CONFIG_SIZE_MAX = 16 * 1024 * 1024;

export const inspectCommand: Command = {
  name: "inspect",
  summary: "Show an image's manifest, config, or platforms",
  help: `Usage: stevedore inspect IMAGE [--raw | --config] [--platform os/arch[/variant]] [registry flags]

Without options: the image's manifest as indented JSON; for a multi-arch
image, its platforms, one per line: PLATFORM DIGEST MEDIA-TYPE.

Options:
  --raw          the manifest exactly as the registry stores it (byte for byte)
  --config       the image configuration as indented JSON (for a multi-arch
                 image, of the image for --platform or this machine's platform)
  --platform P   for a multi-arch image, show the image for P
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { ...REGISTRY_FLAGS, raw: { type: "boolean" }, config: { type: "boolean" }, platform: { type: "string" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("inspect: expected one IMAGE");
    if (flags.values.raw && flags.values.config) throw new UsageError("inspect: --raw and --config exclude each other");
    const image = parseImageArgument(flags.positionals[0]!);
    const platform = parsePlatformFlag(flags.values.platform);
    const client = RegistryClient.open(image.registry, await registryOptions(flags.values, ctx));
    try {
      let content = await fetchManifest(client, image, image.reference);
      let parsed = parseFetched(content);
      if (parsed.kind === "index" && (platform || flags.values.config)) {
        const chosen = selectFromIndex(image.name.toString(), parsed, platform);
        content = await fetchManifest(client, image, chosen.digest);
        parsed = parseFetched(content);
      } else if (parsed.kind !== "index" && platform) {
        throw new CommandError(`${image.name} is a single image, not a multi-arch index: --platform does not apply`);
      }
      if (flags.values.raw) {
        ctx.stdout.write(new TextDecoder().decode(content.bytes));
        return EXIT.ok;
      }
      if (flags.values.config) {
        if (parsed.kind !== "image") throw new CommandError(`${image.name}@${content.digest} is an index, not an image`);
        const config = await fetchConfig(client, image, parsed.manifest.config.digest, parsed.manifest.config.size);
        ctx.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
        return EXIT.ok;
      }
      if (parsed.kind === "index") {
        const lines = parsed.index.manifests.map((d) => `${describePlatform(d)}\t${d.digest}\t${d.mediaType}\n`);
        ctx.stdout.write(lines.join(""));
        return EXIT.ok;
      }
      ctx.stdout.write(`${JSON.stringify(JSON.parse(new TextDecoder().decode(content.bytes)), null, 2)}\n`);
    } finally {
      client.close();
    }
    return EXIT.ok;
  },
};

async function fetchManifest(client: RegistryClient, image: ImageArgument, reference: string): Promise<ManifestContent> {
  try {
    return await client.getManifest(image.repository, reference);
  } catch (error) {
    if (OciError.is(error, "NAME_UNKNOWN")) throw new CommandError(`${image.name}: repository unknown to registry`);
    throw error;
  }
}

/** The config blob, read whole (it is small), verified against its digest. */
async function fetchConfig(client: RegistryClient, image: ImageArgument, digest: Digest, size: number): Promise<unknown> {
  if (size > CONFIG_SIZE_MAX) throw new CommandError(`${image.name}: the config is ${size} bytes, too big to be an image configuration`);
  const stream = (await client.getBlob(image.repository, digest)).pipeThrough(verifyStream({ digest, size }));
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    if (error instanceof ContentMismatchError) throw new CommandError(`${image.name}: the registry sent a config that does not match: ${error.describe()}`);
    throw error;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new CommandError(`${image.name}: the config ${digest} is not JSON`);
  }
}
