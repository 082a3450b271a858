/** A gc run refused before anything changed (keep lists that match nothing, …). */
export class GcError extends Error {
  override readonly name = "GcError";
}
