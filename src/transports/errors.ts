/**
 * What goes wrong before any image moves: a transport string that does not
 * parse, a path that is missing, a layout or archive that is not what it
 * claims to be. The CLI prints the message as it is, on one line.
 */
export type TransportErrorKind =
  /** The transport string does not parse (unknown prefix, malformed ref). */
  | "invalid-spec"
  /** The path or image it names does not exist. */
  | "not-found"
  /** The file or directory exists but its content is broken or hostile. */
  | "invalid-content"
  /** The combination asked for cannot be done (e.g. writing a read-only home). */
  | "unsupported";

export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Quote a value for a message, cut when long. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/** A line of an image list, or an entry of a bundle's index.json, that cannot be used; the message starts with `FILE:LINE:`. */
export class ImageListError extends TransportError {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super("invalid-content", `${where}: ${problem}`);
  }
}
