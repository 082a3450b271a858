/** Descriptors: the typed pointer to content (media type, digest, size). */
import { z } from "zod";
import { type Digest, isDigest } from "../digest/index.ts";
import { platformSchema } from "./platform.ts";

export const digestSchema = z
  .string()
  .refine(isDigest, { message: "invalid digest format" })
  .transform((s) => s as Digest);

export const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
});

export type Descriptor = z.infer<typeof descriptorSchema>;

/** Annotation keys used across the project. */
export const Annotation = {
  refName: "org.opencontainers.image.ref.name",
  containerdImageName: "io.containerd.image.name",
  created: "org.opencontainers.image.created",
} as const;
