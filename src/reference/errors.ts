/** Reference errors, with the exact messages docker and distribution use. */
export const REFERENCE_ERRORS = {
  invalidFormat: "invalid reference format",
  invalidTag: "invalid tag format",
  invalidDigest: "invalid digest format",
  uppercase: "repository name must be lowercase",
  empty: "repository name must have at least one component",
  tooLong: "repository name must not be more than 255 characters",
  notCanonical: "repository name must be canonical",
} as const;

export type ReferenceErrorMessage = (typeof REFERENCE_ERRORS)[keyof typeof REFERENCE_ERRORS];

export class ReferenceError extends Error {
  override readonly name = "ReferenceError";
  constructor(
    override readonly message: ReferenceErrorMessage,
    /** The input that was rejected. */
    readonly value: string,
    /** Which rule it broke, in words. */
    readonly reason: string,
  ) {
    super(message);
  }
  /** One line naming the value and the rule it broke. */
  describe(): string {
    const shown = this.value.length > 200 ? `${this.value.slice(0, 200)}…` : this.value;
    return `${this.message}: ${JSON.stringify(shown)}: ${this.reason}`;
  }
}
