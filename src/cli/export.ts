import { stat } from "node:fs/promises";
import { Writable } from "node:stream";
import { FlattenError, type FlattenResult, flattenImage, flattenToFile } from "../flatten/index.ts";
import { formatPlatform, type ImageReader, isClosable } from "../oci/index.ts";
import { parseReference, ReferenceError } from "../reference/index.ts";
import { TransportError } from "../transports/errors.ts";
import { OciLayoutHome } from "../transports/layout/oci-layout-home.ts";
import { OciArchiveReader } from "../transports/oci-archive/oci-archive-reader.ts";
import { openRegistry } from "../transports/remote/index.ts";
import { type Command, type CommandContext, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseImageArgument } from "./image-argument.ts";
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

IMAGE:
  oci:DIR[:REF]            an OCI image layout (REF: tag, or repository:tag as
                           index.json names it; optional when it holds one image)
  oci-archive:FILE[:REF]   a tar of an OCI image layout (a bundle)
  docker://NAME, NAME      an image in a registry, e.g. docker://site:5000/app:1.0

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
    const options = { signal: ctx.signal, ...(platform ? { platform, strictPlatform: true } : {}) };
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

/**
 * Open the image a transport string names. Covers oci:, oci-archive: and
 * registries until the shared transport parser offers the same (and
 * store:, docker-archive:) for every command.
 */
async function openSource(text: string, registry: () => Parameters<typeof openRegistry>[1]): Promise<Source> {
  try {
    if (text.startsWith("oci:") || text.startsWith("oci-archive:")) {
      const archive = text.startsWith("oci-archive:");
      const [path, ref] = await splitPathAndRef(text.slice(archive ? "oci-archive:".length : "oci:".length));
      if (!path) throw new UsageError(`export: ${JSON.stringify(text)} names no ${archive ? "file" : "directory"}`);
      const home = archive ? await OciArchiveReader.open(path) : await OciLayoutHome.open(path);
      const { repository, reference } = await pickImage(home, home.tagRepository, ref, text);
      return { home, repository, reference, name: text };
    }
    if (/^[a-z-]+:(?!\d)/.test(text) && !text.startsWith("docker://")) {
      throw new UsageError(`export: ${JSON.stringify(text.split(":")[0])}: sources are oci:DIR[:REF], oci-archive:FILE[:REF] or docker://IMAGE`);
    }
    const image = parseImageArgument(text);
    return { home: openRegistry(image.registry, registry()), repository: image.repository, reference: image.reference, name: image.name.toString() };
  } catch (error) {
    if (error instanceof TransportError) throw new CommandError(error.message);
    throw error;
  }
}

/** `DIR:REF` — DIR is the whole text when that path exists, else the part before the first colon. */
async function splitPathAndRef(rest: string): Promise<[string, string | undefined]> {
  const exists = await stat(rest).then(
    () => true,
    () => false,
  );
  const colon = rest.indexOf(":");
  if (exists || colon < 0) return [rest, undefined];
  return [rest.slice(0, colon), rest.slice(colon + 1) || undefined];
}

/** Which repository and tag (or digest) of a layout REF means; the only image when REF is absent. */
async function pickImage(home: ImageReader, tagRepository: string, ref: string | undefined, text: string): Promise<{ repository: string; reference: string }> {
  const repositories = await home.repositories();
  const all: { repository: string; reference: string }[] = [];
  for (const repository of repositories) for (const tag of await home.tags(repository)) all.push({ repository, reference: tag });
  const names = () => all.map((i) => (i.repository === tagRepository ? i.reference : `${i.repository}:${i.reference}`)).join(", ") || "no tagged image";
  if (ref === undefined) {
    if (all.length === 1) return all[0]!;
    throw new UsageError(`export: ${text} holds ${names()}; name one as ${text}:REF`);
  }
  if (/^[a-z0-9]+:[a-f0-9]{32,}$/.test(ref)) return { repository: tagRepository, reference: ref };
  if (/[/:@]/.test(ref)) {
    try {
      const parsed = parseReference(ref);
      return { repository: parsed.name, reference: parsed.digest ?? parsed.tag ?? "latest" };
    } catch (error) {
      if (error instanceof ReferenceError) throw new UsageError(`export: ${error.describe()}`);
      throw error;
    }
  }
  // A bare tag: the layout's own, or the one repository that has it.
  const having = all.filter((i) => i.reference === ref);
  const own = having.find((i) => i.repository === tagRepository);
  if (own) return own;
  if (having.length === 1) return having[0]!;
  if (having.length > 1) throw new UsageError(`export: tag ${JSON.stringify(ref)} is in ${having.map((i) => i.repository).join(", ")}; write REPOSITORY:${ref}`);
  throw new CommandError(`${text}: no image tagged ${JSON.stringify(ref)}; it holds ${names()}`);
}
