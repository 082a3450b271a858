/**
 * Bearer-token auth for the admin API. The token is compared in constant
 * time (both sides hashed first, so lengths never leak either), and never
 * appears in a message or a log line.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AdminError } from "./admin-error.ts";

/** Shorter tokens are refused at start-up: they can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

export const AUTH_CHALLENGE = 'Bearer realm="stevedore-admin"';

export class TokenCheck {
  readonly #digest: Buffer;

  constructor(token: string) {
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`the admin token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`);
    }
    if (/\s/.test(token)) throw new Error("the admin token must not contain whitespace");
    this.#digest = sha256(token);
  }

  /** True when the Authorization header carries this token. */
  accepts(authorization: string | null | undefined): boolean {
    const match = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? "");
    if (!match) return false;
    return timingSafeEqual(sha256(match[1]!), this.#digest);
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function requireToken(check: TokenCheck): MiddlewareHandler {
  return async function bearerAuth(c, next) {
    const header = c.req.header("authorization");
    if (!check.accepts(header)) {
      const message = header ? "the bearer token is malformed or wrong" : "missing Authorization: Bearer <token>";
      return new AdminError("UNAUTHORIZED", message).response({ "WWW-Authenticate": AUTH_CHALLENGE });
    }
    await next();
  };
}

/** The token in a token file: its content, trimmed of surrounding whitespace and the final newline. */
export function tokenFromFile(text: string): string {
  return text.trim();
}
