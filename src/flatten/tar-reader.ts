/**
 * Read a tar stream entry by entry. Each entry's body must be read (or
 * left alone) before asking for the next; what is left is skipped. After
 * the end-of-archive blocks the rest of the stream is drained, so a
 * verifying stream upstream sees every byte.
 */
import { ByteReader, TruncatedError } from "./byte-reader.ts";
import { applyPax, BLOCK, decodeHeader, entryType, isZeroBlock, padding, parsePax, type TarHeader } from "./tar-format.ts";

export interface TarEntry {
  header: TarHeader;
  /** The content, as it streams; valid until the next entry is asked for. */
  body: AsyncIterable<Uint8Array>;
}

export class TarFormatError extends Error {
  override readonly name = "TarFormatError";
}

/** Long names and pax data are small; a header claiming more is corrupt. */
const META_MAX = 1024 * 1024;

export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream);
  let finished = false;
  try {
    let globalPax: [string, Uint8Array][] = [];
    let localPax: [string, Uint8Array][] | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const at = reader.offset;
      const block = await reader.read(BLOCK);
      if (block.byteLength === 0) break; // end of stream without end blocks: accepted, as GNU tar does
      if (block.byteLength < BLOCK) throw new TarFormatError(`truncated tar header at byte ${at}`);
      if (isZeroBlock(block)) {
        await reader.drain();
        break;
      }
      let raw;
      try {
        raw = decodeHeader(block);
      } catch (error) {
        throw new TarFormatError(`invalid tar header at byte ${at} (${(error as Error).message}): not a tar archive, or a corrupt one`);
      }
      const meta = async () => {
        if (raw.size > META_MAX) throw new TarFormatError(`tar metadata entry of ${raw.size} bytes at byte ${at}`);
        const data = await reader.read(raw.size);
        if (data.byteLength < raw.size) throw new TarFormatError(`truncated tar entry at byte ${at}`);
        await reader.skip(padding(raw.size));
        return data;
      };
      switch (raw.flag) {
        case "x":
          localPax = parsePaxAt(await meta(), at);
          continue;
        case "g":
          globalPax = [...globalPax, ...parsePaxAt(await meta(), at)];
          continue;
        case "L":
          longName = new TextDecoder().decode(await meta()).replace(/\0.*$/s, "");
          continue;
        case "K":
          longLink = new TextDecoder().decode(await meta()).replace(/\0.*$/s, "");
          continue;
      }
      if (longName !== undefined) raw.name = longName;
      if (longLink !== undefined) raw.linkname = longLink;
      let extra: [string, Uint8Array][];
      try {
        extra = applyPax(raw, [...globalPax, ...(localPax ?? [])]);
      } catch (error) {
        throw new TarFormatError(`${(error as Error).message} (entry ${JSON.stringify(raw.name)})`);
      }
      longName = longLink = localPax = undefined;
      const type = entryType(raw.flag);
      if (!type) throw new TarFormatError(`unsupported tar entry type ${JSON.stringify(raw.flag)} for ${JSON.stringify(raw.name)}`);
      // Only regular files carry content; a size on anything else is skipped.
      const size = raw.size;
      const { flag: _, ...fields } = raw;
      const header: TarHeader = { ...fields, type, size: type === "file" ? size : 0, pax: extra };
      let left = type === "file" ? size : 0;
      const body = (async function* () {
        try {
          for await (const chunk of reader.chunks(left)) {
            left -= chunk.byteLength;
            yield chunk;
          }
        } catch (error) {
          if (error instanceof TruncatedError) throw new TarFormatError(`truncated tar: ${JSON.stringify(raw.name)} ends early`);
          throw error;
        }
      })();
      yield { header, body };
      try {
        await reader.skip(left + (type === "file" ? 0 : size) + padding(size));
      } catch (error) {
        if (error instanceof TruncatedError) throw new TarFormatError(`truncated tar: ${JSON.stringify(raw.name)} ends early`);
        throw error;
      }
    }
    finished = true;
  } catch (error) {
    if (error instanceof TruncatedError) throw new TarFormatError(`truncated tar: ${error.message}`);
    throw error;
  } finally {
    if (!finished) await reader.cancel();
  }
}

function parsePaxAt(data: Uint8Array, at: number): [string, Uint8Array][] {
  try {
    return parsePax(data);
  } catch (error) {
    throw new TarFormatError(`${(error as Error).message} at byte ${at}`);
  }
}
