/**
 * Hashing at native speed (Bun.CryptoHasher uses OpenSSL, SHA-NI where the
 * CPU has it).
 */
import { type Digest, type RegisteredAlgorithm, verifiableAlgorithm } from "./digest.ts";

/** An incremental hasher that produces a Digest. */
export class DigestHasher {
  readonly #hasher: Bun.CryptoHasher;
  readonly algorithm: RegisteredAlgorithm;
  #size = 0;

  constructor(algorithm: RegisteredAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.#hasher = new Bun.CryptoHasher(algorithm);
  }

  /** A hasher for the same algorithm as `digest` (throws if unsupported). */
  static for(digest: Digest): DigestHasher {
    return new DigestHasher(verifiableAlgorithm(digest));
  }

  update(chunk: Uint8Array): void {
    this.#hasher.update(chunk);
    this.#size += chunk.byteLength;
  }

  get size(): number {
    return this.#size;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.#hasher.digest("hex")}` as Digest;
  }
}

/** The digest of bytes held in memory (manifests, configs: small things). */
export function digestOf(data: Uint8Array | string, algorithm: RegisteredAlgorithm = "sha256"): Digest {
  const hasher = new Bun.CryptoHasher(algorithm);
  hasher.update(data);
  return `${algorithm}:${hasher.digest("hex")}` as Digest;
}

/** Hash a stream to its end; returns digest and byte count. */
export async function digestStream(
  stream: ReadableStream<Uint8Array>,
  algorithm: RegisteredAlgorithm = "sha256",
): Promise<{ digest: Digest; size: number }> {
  const hasher = new DigestHasher(algorithm);
  for await (const chunk of stream) hasher.update(chunk);
  return { digest: hasher.digest(), size: hasher.size };
}

/** Hash a file by streaming it (never loads it whole). */
export function digestFile(path: string, algorithm: RegisteredAlgorithm = "sha256") {
  return digestStream(Bun.file(path).stream(), algorithm);
}
