/** JSON request bodies: read with a cap, parsed, validated with zod; every failure is a 400 naming the problem. */
import type { z } from "zod";
import { AdminError } from "./admin-error.ts";

/** Admin requests are small; anything bigger is a mistake or an attack. */
export const BODY_LIMIT = 1024 * 1024;

export async function readJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  const text = await readCapped(request);
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new AdminError("INVALID_REQUEST", `the body is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
    const message = issues.map((i) => `${i.path || "body"}: ${i.message}`).join("; ");
    throw new AdminError("INVALID_REQUEST", message, { issues });
  }
  return result.data;
}

async function readCapped(request: Request): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > BODY_LIMIT) throw tooLarge();
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > BODY_LIMIT) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(): AdminError {
  return new AdminError("PAYLOAD_TOO_LARGE", `the body is larger than ${BODY_LIMIT} bytes`);
}
