/**
 * `oci-archive:FILE` read in place: an uncompressed tar of an OCI image
 * layout, indexed once (see tar-index.ts) and served as slices of the file.
 * Nothing is extracted; blobs can be read in parallel.
 */
import { quote, TransportError } from "../errors.ts";
import type { LayoutFiles } from "../layout/layout-files.ts";
import { INDEX_SIZE_MAX, LayoutIndex, ociLayoutSchema } from "../layout/layout-index.ts";
import { LayoutReader } from "../layout/layout-reader.ts";
import { repositoryFromPath } from "../layout/ref-name.ts";
import { TarIndex } from "../tar/tar-index.ts";

export interface OciArchiveOptions {
  /** Repository of entries named by a bare tag. Default: from the file name. */
  tagRepository?: string;
}

export class OciArchiveReader extends LayoutReader {
  readonly description: string;
  protected readonly files: LayoutFiles;

  private constructor(
    readonly path: string,
    readonly tar: TarIndex,
    readonly layoutIndex: LayoutIndex,
  ) {
    super();
    this.description = `oci-archive:${path}`;
    this.files = tarFiles(tar);
  }

  static async open(path: string, options: OciArchiveOptions = {}): Promise<OciArchiveReader> {
    const description = `oci-archive:${path}`;
    const tar = await openTar(path, description);
    const layout = tar.file("oci-layout");
    if (!layout) throw new TransportError("invalid-content", `${description}: not an OCI image layout archive (no oci-layout entry)`);
    let version: string;
    try {
      if (layout.size > 4096) throw new Error("too large");
      version = ociLayoutSchema.parse(JSON.parse(await layout.text())).imageLayoutVersion;
    } catch {
      throw new TransportError("invalid-content", `${description}: oci-layout is not {"imageLayoutVersion": "1.0.0"}`);
    }
    if (!version.startsWith("1.")) throw new TransportError("invalid-content", `${description}: unsupported image layout version ${quote(version)}`);
    const indexFile = tar.file("index.json");
    if (!indexFile) throw new TransportError("invalid-content", `${description}: the archive has no index.json`);
    if (indexFile.size > INDEX_SIZE_MAX) throw new TransportError("invalid-content", `${description}: index.json is ${indexFile.size} bytes; that is not an index`);
    const tagRepository = options.tagRepository ?? repositoryFromPath(path);
    const index = LayoutIndex.parse(new Uint8Array(await indexFile.arrayBuffer()), tagRepository, description);
    return new OciArchiveReader(path, tar, index);
  }

  protected async index(): Promise<LayoutIndex> {
    return this.layoutIndex;
  }

  get tagRepository(): string {
    return this.layoutIndex.tagRepository;
  }
}

/** Open and index a tar, with file-system errors said in the home's words. */
export async function openTar(path: string, description: string): Promise<TarIndex> {
  try {
    return await TarIndex.open(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new TransportError("not-found", `${description}: no such file`);
    if (code === "EISDIR") throw new TransportError("invalid-content", `${description}: is a directory, not an archive`);
    throw error;
  }
}

export function tarFiles(tar: TarIndex): LayoutFiles {
  return { file: async (path) => tar.file(path) };
}
