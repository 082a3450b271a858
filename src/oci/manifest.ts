/**
 * Manifests and indexes: zod schemas for untrusted bytes, and the walk of
 * what a manifest references. Parsing never re-serialises: callers keep the
 * exact bytes and use the parsed value only to look inside.
 */
import { z } from "zod";
import { descriptorSchema, type Descriptor } from "./descriptor.ts";
import { OciError } from "./errors.ts";
import {
  FOREIGN_LAYER_TYPES,
  MediaType,
  isImageManifestType,
  isIndexType,
  isManifestType,
  isSchema1Type,
} from "./media-types.ts";

const DOCKER_MANIFEST_TYPES: readonly string[] = [MediaType.dockerManifest, MediaType.dockerManifestList];

/** Registries refuse bigger manifests (distribution and the OCI spec use 4 MiB). */
export const MANIFEST_SIZE_MAX = 4 * 1024 * 1024;

const annotations = z.record(z.string(), z.string()).optional();

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations,
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations,
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

export type ParsedManifest =
  | { kind: "image"; mediaType: string; manifest: ImageManifest }
  | { kind: "index"; mediaType: string; index: ImageIndex };

export const SCHEMA1_REFUSED =
  "Docker schema1 manifests are not supported (deprecated since 2017); re-push the image with a current client to get a schema2 or OCI manifest";

/** Strip parameters from a Content-Type value. */
export function bareMediaType(contentType: string | null | undefined): string | undefined {
  const bare = contentType?.split(";")[0]?.trim().toLowerCase();
  return bare || undefined;
}

/**
 * Parse and validate manifest bytes. `declaredType` is the Content-Type it
 * arrived with, if any. Throws OciError MANIFEST_INVALID with a message
 * that says what is wrong.
 */
export function parseManifest(bytes: Uint8Array, declaredType?: string): ParsedManifest {
  const declared = bareMediaType(declaredType);
  if (isSchema1Type(declared)) throw new OciError("MANIFEST_INVALID", SCHEMA1_REFUSED);
  if (bytes.byteLength > MANIFEST_SIZE_MAX) {
    throw new OciError("MANIFEST_INVALID", `manifest is ${bytes.byteLength} bytes; the limit is ${MANIFEST_SIZE_MAX}`, undefined, 413);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new OciError("MANIFEST_INVALID", "manifest is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OciError("MANIFEST_INVALID", `manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new OciError("MANIFEST_INVALID", "manifest is not a JSON object");
  }
  const fields = json as Record<string, unknown>;
  if (fields.schemaVersion === 1) throw new OciError("MANIFEST_INVALID", SCHEMA1_REFUSED);
  const inner = typeof fields.mediaType === "string" ? fields.mediaType : undefined;
  if (declared && inner && declared !== inner && isManifestType(declared)) {
    throw new OciError("MANIFEST_INVALID", `Content-Type ${declared} does not match the manifest's mediaType ${inner}`);
  }
  let mediaType = inner ?? (isManifestType(declared) ? declared : undefined);
  if (!mediaType) {
    // No type anywhere: an OCI manifest or index, told apart by its fields.
    if (Array.isArray(fields.manifests)) mediaType = MediaType.ociIndex;
    else if (fields.config !== undefined) mediaType = MediaType.ociManifest;
    else throw new OciError("MANIFEST_INVALID", "cannot tell the manifest type: no mediaType, config or manifests");
  }
  if (isSchema1Type(mediaType)) throw new OciError("MANIFEST_INVALID", SCHEMA1_REFUSED);
  // Docker's formats always name themselves (distribution refuses them
  // otherwise); only OCI's may leave mediaType out.
  if (DOCKER_MANIFEST_TYPES.includes(mediaType) && inner === undefined) {
    throw new OciError("MANIFEST_INVALID", `a ${mediaType} manifest must carry its mediaType`);
  }
  if (isIndexType(mediaType)) {
    const result = imageIndexSchema.safeParse(json);
    if (!result.success) throw new OciError("MANIFEST_INVALID", `invalid index: ${describeZodError(result.error)}`);
    return { kind: "index", mediaType, index: result.data };
  }
  if (isImageManifestType(mediaType)) {
    const result = imageManifestSchema.safeParse(json);
    if (!result.success) throw new OciError("MANIFEST_INVALID", `invalid manifest: ${describeZodError(result.error)}`);
    return { kind: "image", mediaType, manifest: result.data };
  }
  throw new OciError("MANIFEST_INVALID", `unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

export interface ManifestReferences {
  /** Blobs the manifest needs: config and layers (foreign layers with URLs excluded). */
  blobs: Descriptor[];
  /** Child manifests of an index. */
  manifests: Descriptor[];
  /** The manifest this one refers to (referrers API), if any. */
  subject?: Descriptor;
}

export function manifestReferences(parsed: ParsedManifest): ManifestReferences {
  if (parsed.kind === "index") {
    return { blobs: [], manifests: parsed.index.manifests, subject: parsed.index.subject };
  }
  const m = parsed.manifest;
  const layers = m.layers.filter((l) => !(FOREIGN_LAYER_TYPES.includes(l.mediaType) && l.urls?.length));
  return { blobs: [m.config, ...layers], manifests: [], subject: m.subject };
}

/** The artifact type as the referrers API reports it. */
export function artifactTypeOf(parsed: ParsedManifest): string | undefined {
  if (parsed.kind === "index") return parsed.index.artifactType;
  return parsed.manifest.artifactType ?? parsed.manifest.config.mediaType;
}

export function annotationsOf(parsed: ParsedManifest): Record<string, string> | undefined {
  return parsed.kind === "index" ? parsed.index.annotations : parsed.manifest.annotations;
}

/** A short, readable summary of a zod error: `layers.0.digest: invalid digest format`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
