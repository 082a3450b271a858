/** A tar archive that cannot be read safely: truncated, corrupt or hostile. */
import { TransportError } from "../errors.ts";

export class TarError extends TransportError {
  constructor(message: string) {
    super("invalid-content", message);
  }
}
