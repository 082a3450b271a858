/** The image configuration (only the fields we read; the rest passes through). */
import { z } from "zod";

export const imageConfigSchema = z.looseObject({
  architecture: z.string().optional(),
  os: z.string().optional(),
  variant: z.string().optional(),
  created: z.string().optional(),
  config: z.looseObject({}).optional(),
  rootfs: z
    .object({
      type: z.string(),
      diff_ids: z.array(z.string()),
    })
    .optional(),
  history: z.array(z.looseObject({})).optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

