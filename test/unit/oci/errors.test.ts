import { expect, test } from "bun:test";
import { ERROR_CODES, OCI_SPEC_ERROR_CODES, OciError } from "../../../src/oci/index.ts";

test("the OCI distribution spec's codes, each with its status", () => {
  // The spec's table has fourteen codes; there is no fifteenth (drafts
  // numbered them code-1 to code-15 and skipped code-11).
  const spec: Record<string, number> = {
    BLOB_UNKNOWN: 404,
    BLOB_UPLOAD_INVALID: 400,
    BLOB_UPLOAD_UNKNOWN: 404,
    DIGEST_INVALID: 400,
    MANIFEST_BLOB_UNKNOWN: 400,
    MANIFEST_INVALID: 400,
    MANIFEST_UNKNOWN: 404,
    NAME_INVALID: 400,
    NAME_UNKNOWN: 404,
    SIZE_INVALID: 400,
    UNAUTHORIZED: 401,
    DENIED: 403,
    UNSUPPORTED: 405,
    TOOMANYREQUESTS: 429,
  };
  expect([...OCI_SPEC_ERROR_CODES]).toEqual(Object.keys(spec) as never);
  const statuses: Record<string, number> = Object.fromEntries(OCI_SPEC_ERROR_CODES.map((c) => [c, ERROR_CODES[c].status]));
  expect(statuses).toEqual(spec);
  // The spec's descriptions are the default messages.
  expect(ERROR_CODES.BLOB_UNKNOWN.message).toBe("blob unknown to registry");
  expect(ERROR_CODES.MANIFEST_BLOB_UNKNOWN.message).toBe("manifest references a manifest or blob unknown to registry");
  expect(ERROR_CODES.MANIFEST_UNKNOWN.message).toBe("manifest unknown to registry");
  expect(ERROR_CODES.DENIED.message).toBe("requested access to the resource is denied");
});

test("every code is uppercase letters and underscores, and has a message and an error status", () => {
  for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
    expect(code).toMatch(/^[A-Z_]+$/);
    expect(message.length).toBeGreaterThan(0);
    expect(status >= 400 && status < 600).toBe(true);
  }
});

test("OciError carries code, message, detail and status, and renders the spec's envelope", () => {
  const plain = new OciError("BLOB_UNKNOWN");
  expect([plain.code, plain.message, plain.status, plain.detail, plain.name]).toEqual([
    "BLOB_UNKNOWN",
    "blob unknown to registry",
    404,
    undefined,
    "OciError",
  ]);
  expect(plain.toJSON()).toEqual({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] });
  expect(JSON.stringify(plain)).toBe('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');

  const detailed = new OciError("DIGEST_INVALID", "digest does not match", { digest: "sha256:abc" });
  expect(detailed.toJSON()).toEqual({
    errors: [{ code: "DIGEST_INVALID", message: "digest does not match", detail: { digest: "sha256:abc" } }],
  });
  expect(new OciError("MANIFEST_INVALID", "too big", undefined, 413).status).toBe(413);
  expect(detailed).toBeInstanceOf(Error);
});

test("OciError.is", () => {
  const error = new OciError("NAME_UNKNOWN");
  expect([OciError.is(error), OciError.is(error, "NAME_UNKNOWN"), OciError.is(error, "BLOB_UNKNOWN")]).toEqual([true, true, false]);
  expect([OciError.is(new Error("x")), OciError.is(undefined), OciError.is({ code: "NAME_UNKNOWN" })]).toEqual([false, false, false]);
});
