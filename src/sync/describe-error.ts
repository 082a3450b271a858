/** Turn whatever a home threw into one readable line (no stack, no class names). */
import { DigestError } from "../digest/index.ts";
import { describeSystemError } from "../oci/index.ts";
import { ReferenceError } from "../reference/index.ts";

export function describeError(error: unknown): string {
  if (error instanceof DigestError || error instanceof ReferenceError) return error.describe();
  // A system error (a full disk, a file that went away) in words, naming its file.
  return describeSystemError(error);
}

/** A failure of one step of an image (a blob, a manifest), naming the step. */
export class StepError extends Error {
  override readonly name = "StepError";
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${describeError(cause)}`);
  }
}
