/** A layer or image that cannot be flattened; the message says which layer and entry. */
export class FlattenError extends Error {
  override readonly name = "FlattenError";
}
