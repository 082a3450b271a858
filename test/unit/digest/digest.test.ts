import { describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  algorithmOf,
  DigestError,
  DigestHasher,
  digestFile,
  digestOf,
  digestStream,
  encodedOf,
  isDigest,
  isVerifiable,
  parseDigest,
  tryParseDigest,
  verifiableAlgorithm,
  type Digest,
} from "../../../src/digest/index.ts";

const HEX = (n: number) => "0123456789abcdef".repeat(Math.ceil(n / 16)).slice(0, n);
// Digests of "hello", from sha256sum, sha384sum and sha512sum.
const HELLO = {
  sha256: "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
  sha384: "sha384:59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f",
  sha512:
    "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
};

type Outcome = { algorithm: string; encoded: string; verifiable: boolean } | { error: string; reason: string };

function parse(value: string): Outcome {
  try {
    const d = parseDigest(value);
    return { algorithm: algorithmOf(d), encoded: encodedOf(d), verifiable: isVerifiable(d) };
  } catch (error) {
    if (!(error instanceof DigestError)) throw error;
    return { error: error.message, reason: error.reason };
  }
}
const good = (algorithm: string, encoded: string, verifiable: boolean): Outcome => ({ algorithm, encoded, verifiable });
const bad = (reason: string): Outcome => ({ error: "invalid digest format", reason });
const FORMAT = bad("expected algorithm:hex with at least 32 hex characters");

describe("parseDigest", () => {
  const table: [string, Outcome][] = [
    [`sha256:${HEX(64)}`, good("sha256", HEX(64), true)],
    [`sha384:${HEX(96)}`, good("sha384", HEX(96), true)],
    [`sha512:${HEX(128)}`, good("sha512", HEX(128), true)],
    // Registered algorithms: exactly their length, lowercase hex.
    [`sha256:${HEX(63)}`, bad("sha256 needs 64 hex characters, got 63")],
    [`sha256:${HEX(65)}`, bad("sha256 needs 64 hex characters, got 65")],
    [`sha256:${HEX(128)}`, bad("sha256 needs 64 hex characters, got 128")],
    [`sha384:${HEX(64)}`, bad("sha384 needs 96 hex characters, got 64")],
    [`sha512:${HEX(64)}`, bad("sha512 needs 128 hex characters, got 64")],
    [`sha512:${HEX(127)}`, bad("sha512 needs 128 hex characters, got 127")],
    [`sha256:${HEX(64).toUpperCase()}`, bad("sha256 hex must be lowercase")],
    [`sha256:${HEX(63)}A`, bad("sha256 hex must be lowercase")],
    [`sha512:${HEX(128).toUpperCase()}`, bad("sha512 hex must be lowercase")],
    // Other well-formed algorithms parse, with any case of hex, and cannot be verified.
    [`md5:${HEX(32)}`, good("md5", HEX(32), false)],
    [`blake3:${HEX(64)}`, good("blake3", HEX(64), false)],
    [`sha256+b64u:${HEX(32)}`, good("sha256+b64u", HEX(32), false)],
    [`a.b_c-d+e:${HEX(40).toUpperCase()}`, good("a.b_c-d+e", HEX(40).toUpperCase(), false)],
    [`x1:${HEX(1000)}`, good("x1", HEX(1000), false)],
    // The algorithm is lowercase (OCI: [a-z0-9]+ components).
    [`SHA256:${HEX(64)}`, bad("the algorithm must be lowercase")],
    [`Md5:${HEX(32)}`, bad("the algorithm must be lowercase")],
    // Names that are properties of every object are still just unknown algorithms.
    [`constructor:${HEX(64)}`, good("constructor", HEX(64), false)],
    [`tostring:${HEX(64)}`, good("tostring", HEX(64), false)],
    // The grammar.
    ["", FORMAT],
    ["sha256", FORMAT],
    ["sha256:", FORMAT],
    [`:${HEX(64)}`, FORMAT],
    [`sha256:${HEX(31)}`, FORMAT],
    [`md5:${HEX(31)}`, FORMAT],
    [`sha256:${"g".repeat(64)}`, FORMAT],
    [`sha256:${HEX(32)}=`, FORMAT],
    [`1sha:${HEX(64)}`, FORMAT],
    [`sha-:${HEX(64)}`, FORMAT],
    [`sha--256:${HEX(64)}`, FORMAT],
    [`-sha:${HEX(64)}`, FORMAT],
    [`sha 256:${HEX(64)}`, FORMAT],
    [`sha256:${HEX(64)} `, FORMAT],
    [` sha256:${HEX(64)}`, FORMAT],
    [`sha256:${HEX(64)}\n`, FORMAT],
    [`sha256:sha256:${HEX(64)}`, FORMAT],
    [`sha256::${HEX(64)}`, FORMAT],
    // Longer than any real digest: refused before the pattern runs.
    [`x:${HEX(1023)}`, FORMAT],
  ];
  test.each(table)("%p", (value, expected) => expect(parse(value)).toEqual(expected));
  test("tryParseDigest accepts exactly what parseDigest accepts", () => {
    expect(table.map(([value]) => tryParseDigest(value) === value)).toEqual(table.map(([, expected]) => "algorithm" in expected));
  });

  test("the error names the value and the rule", () => {
    const value = `sha256:${HEX(10)}`;
    try {
      parseDigest(value);
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(DigestError);
      expect((error as DigestError).value).toBe(value);
      expect((error as DigestError).describe()).toBe(
        `invalid digest format: "${value}": expected algorithm:hex with at least 32 hex characters`,
      );
    }
  });

  test("non-strings are refused with a DigestError", () => {
    expect(() => parseDigest(undefined as unknown as string)).toThrow(DigestError);
    expect(() => parseDigest(42 as unknown as string)).toThrow(DigestError);
  });

  test("tryParseDigest and isDigest do not throw", () => {
    expect(tryParseDigest(`sha256:${HEX(64)}`)).toBe(`sha256:${HEX(64)}` as Digest);
    expect(tryParseDigest("nope")).toBeUndefined();
    expect([isDigest(`sha256:${HEX(64)}`), isDigest(`sha256:${HEX(63)}`), isDigest("")]).toEqual([true, false, false]);
  });
});

describe("verifiableAlgorithm", () => {
  test("registered algorithms", () => {
    for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
      expect(verifiableAlgorithm(HELLO[algorithm] as Digest)).toBe(algorithm);
    }
  });

  test("an unknown algorithm is a clear DigestError", () => {
    const digest = parseDigest(`blake3:${HEX(64)}`);
    expect(() => verifiableAlgorithm(digest)).toThrow(DigestError);
    try {
      verifiableAlgorithm(digest);
    } catch (error) {
      const e = error as DigestError;
      expect(e.message).toBe("unsupported digest algorithm");
      expect(e.describe()).toBe(
        `unsupported digest algorithm: "blake3:${HEX(64)}": cannot verify blake3; supported: sha256, sha384, sha512`,
      );
    }
    expect(() => DigestHasher.for(digest)).toThrow("unsupported digest algorithm");
    expect(() => DigestHasher.for(parseDigest(`constructor:${HEX(64)}`))).toThrow("unsupported digest algorithm");
  });
});

describe("hashing", () => {
  const hello = new TextEncoder().encode("hello");

  test("digestOf, each algorithm, bytes and strings alike", () => {
    for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
      expect([digestOf(hello, algorithm), digestOf("hello", algorithm)]).toEqual([
        HELLO[algorithm] as Digest,
        HELLO[algorithm] as Digest,
      ]);
    }
    expect(digestOf(new Uint8Array())).toBe(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" as Digest,
    );
  });

  test("DigestHasher counts bytes and hashes chunks as one", () => {
    const hasher = new DigestHasher();
    hasher.update(hello.subarray(0, 2));
    hasher.update(new Uint8Array());
    hasher.update(hello.subarray(2));
    expect([hasher.algorithm, hasher.size, hasher.digest()]).toEqual(["sha256", 5, HELLO.sha256 as Digest]);
    expect(DigestHasher.for(HELLO.sha512 as Digest).algorithm).toBe("sha512");
  });

  test("digestStream and digestFile stream to the end", async () => {
    const stream = new Blob([hello, hello]).stream();
    expect(await digestStream(stream)).toEqual({ digest: digestOf("hellohello"), size: 10 });
    const dir = await mkdtemp(join(tmpdir(), "stevedore-digest-"));
    try {
      await Bun.write(join(dir, "hello"), "hello");
      expect(await digestFile(join(dir, "hello"), "sha384")).toEqual({ digest: HELLO.sha384 as Digest, size: 5 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
