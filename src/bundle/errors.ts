/**
 * What goes wrong building or reading a bundle, said so the user can act:
 * the CLI prints the message as it is, on one line.
 */
export class BundleError extends Error {
  override readonly name = "BundleError";
  constructor(
    message: string,
    /** The images that failed, when a copy did (each also reported as an event). */
    readonly failures: readonly { image: string; error: string }[] = [],
  ) {
    super(message);
  }
}
