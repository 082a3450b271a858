/** What goes wrong while rewriting: bad YAML, unknown or ambiguous origins. */
export class RewriteError extends Error {
  override readonly name = "RewriteError";
  constructor(
    message: string,
    /** The file (or `-` for standard input) and the 1-based line, when known. */
    readonly source?: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }

  /** One line: `deploy.yaml:12:7: message`. */
  describe(): string {
    if (!this.source) return this.message;
    const at = [this.source, this.line, this.column].filter((p) => p !== undefined).join(":");
    return `${at}: ${this.message}`;
  }
}
