/** Content that does not match its digest, as the OciError a home throws. */
import { ContentMismatchError, DigestError } from "../../digest/index.ts";
import { OciError } from "../../oci/index.ts";

export function asOciError(error: unknown, where: string): unknown {
  if (error instanceof ContentMismatchError) {
    return new OciError(error.kind === "size" ? "SIZE_INVALID" : "DIGEST_INVALID", `${where}: ${error.describe()}`);
  }
  if (error instanceof DigestError) return new OciError("DIGEST_INVALID", `${where}: ${error.describe()}`);
  return error;
}
