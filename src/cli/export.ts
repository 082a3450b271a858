import { Writable } from "node:stream";
import { FlattenError, type FlattenProgress, type FlattenResult, flattenImage, flattenToFile } from "../flatten/index.ts";
import { formatPlatform, type ImageReader, isClosable } from "../oci/index.ts";
import type { RegistryClientOptions } from "../client/index.ts";
import { openSource as openTransport, parseDockerLocation, TransportError } from "../transports/index.ts";
import { type Command, type CommandContext, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";
import { parsePlatformFlag } from "./select-platform.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "Flatten an image's layers into one root filesystem tar",
  help: `Usage: stevedore export IMAGE -o FILE|- [--platform os/arch[/variant]] [registry flags]

Apply the image's layers in order and write the resulting filesystem as one
tar: deleted files (.wh. whiteouts) and opaque directories honoured, later
layers overriding earlier ones, hard links, symlinks, modes, owners, times
and extended attributes kept. Layers are streamed, never held in memory;
each is checked against its digest. The output file appears only when
complete (a temporary file is renamed into place); on failure nothing is
left behind.

IMAGE (one image; REF is needed where the source holds several):
  oci:DIR[:REF]            an OCI image layout (REF: a tag, or a name as
                           index.json gives it, e.g. docker.io/acme/app:1.0)
  oci-archive:FILE[:REF]   a tar of an OCI image layout (a bundle)
  docker-archive:FILE[:NAME]  a docker save tarball
  store:DIR:REPO:TAG       stevedore's embedded store
  docker://NAME            an image in a registry, e.g. docker://site:5000/app:1.0
                           (:latest when no tag is given)
  PATH                     a layout, archive or store, told apart by its content

Options:
  -o, --output FILE   where to write the tar; - for standard output
  --platform P        which image of a multi-arch index (default: this machine's);
                      a single image of another platform is then refused
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { ...REGISTRY_FLAGS, output: { type: "string", short: "o" }, platform: { type: "string" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("export: expected one IMAGE");
    const output = flags.values.output;
    if (!output) throw new UsageError("export: -o FILE is required (- for standard output)");
    const platform = parsePlatformFlag(flags.values.platform);
    if (output === "-" && process.stdout.isTTY) throw new UsageError("export: will not write a tar to a terminal; redirect it or use -o FILE");
    const source = await openSource(flags.positionals[0]!, () => registryOptions(flags.values, ctx));
    const options = {
      signal: ctx.signal,
      ...(platform ? { platform, strictPlatform: true } : {}),
      // On a terminal, where the two passes are: reading top-down to plan, then writing.
      ...(ctx.interactive
        ? { onProgress: (p: FlattenProgress) => ctx.stderr.write(`\r${p.phase === "plan" ? "planning" : "writing"}: layer ${p.layer + 1} of ${p.layers}\x1b[K`) }
        : {}),
    };
    let result: FlattenResult;
    try {
      result =
        output === "-"
          ? await flattenImage(source.home, source.repository, source.reference, Writable.toWeb(process.stdout) as WritableStream<Uint8Array>, options)
          : await flattenToFile(source.home, source.repository, source.reference, output, options);
    } catch (error) {
      if (error instanceof FlattenError) throw new CommandError(`${source.name}: ${error.message}`);
      throw error;
    } finally {
      if (ctx.interactive) ctx.stderr.write("\r\x1b[K");
      if (isClosable(source.home)) await source.home.close();
    }
    report(ctx, output, source.name, result);
    return EXIT.ok;
  },
};

function report(ctx: CommandContext, output: string, name: string, result: FlattenResult): void {
  const { image, stats } = result;
  const platform = image.platform ? ` ${formatPlatform(image.platform)}` : "";
  const mib = (result.bytes / 1024 / 1024).toFixed(1);
  const where = output === "-" ? "standard output" : output;
  ctx.stderr.write(
    `${name}@${image.digest}${platform}: ${image.layers.length} layers -> ${where}: ${stats.entries} entries, ${stats.files} files, ${mib} MiB\n`,
  );
}

interface Source {
  home: ImageReader;
  repository: string;
  reference: string;
  /** For messages. */
  name: string;
}

/** The one image a transport string names; a source with several must be narrowed by REF. */
async function openSource(text: string, registry: () => Promise<RegistryClientOptions>): Promise<Source> {
  // `docker://name` without a tag means :latest here, as skopeo reads it (a copy would take every tag).
  let spec = text;
  if (text.startsWith("docker://")) {
    const location = parseDockerLocation(text);
    if (location.image && !location.tag && !location.digest) spec = `${text}:latest`;
  }
  let source;
  try {
    source = await openTransport(spec, { registry: await registry() });
  } catch (error) {
    if (error instanceof TransportError) throw error.kind === "invalid-spec" ? new UsageError(`export: ${error.message}`) : new CommandError(error.message);
    throw error;
  }
  try {
    const images = await source.list();
    if (images.length !== 1) {
      const names = images.slice(0, 10).map((i) => i.name.toString());
      throw new UsageError(
        `export: ${text} holds ${images.length ? `${images.length} images (${names.join(", ")}${images.length > 10 ? ", …" : ""})` : "no image"}; name one, e.g. ${text}:REF`,
      );
    }
    const [image] = images;
    return { home: source.home, repository: image!.repository, reference: image!.reference, name: text };
  } catch (error) {
    if (isClosable(source.home)) await source.home.close().catch(() => undefined);
    if (error instanceof TransportError) throw new CommandError(error.message);
    throw error;
  }
}
