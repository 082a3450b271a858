/**
 * HTTP basic authentication against bcrypt hashes. bcrypt is slow on
 * purpose (tens of ms), and clients send credentials on every request, so
 * a verified Authorization value is remembered for a short while; the
 * cache holds a hash of it, never the password. Concurrent requests with
 * the same credentials share one verification. A user name that does not
 * exist costs a bcrypt like a wrong password, so timing tells nothing.
 */
import { OciError } from "../oci/index.ts";

export interface BasicAuthOptions {
  /** How long a verified credential is trusted without bcrypt (ms). */
  cacheMs?: number;
  /** The realm of the WWW-Authenticate challenge. */
  realm?: string;
}

const CACHE_LIMIT = 1024;

export class BasicAuthenticator {
  readonly realm: string;
  readonly #users: Map<string, string>;
  readonly #cacheMs: number;
  readonly #verified = new Map<string, { result: Promise<string | undefined>; expires: number }>();

  constructor(users: Map<string, string>, options: BasicAuthOptions = {}) {
    this.#users = users;
    this.#cacheMs = options.cacheMs ?? 60_000;
    this.realm = options.realm ?? "stevedore";
  }

  get challenge(): string {
    return `Basic realm=${JSON.stringify(this.realm)}`;
  }

  /** The user name when `authorization` holds valid credentials, else undefined. */
  async verify(authorization: string | null | undefined, now = Date.now()): Promise<string | undefined> {
    if (!authorization?.toLowerCase().startsWith("basic ")) return undefined;
    const key = new Bun.CryptoHasher("sha256").update(authorization).digest("hex");
    const cached = this.#verified.get(key);
    if (cached && cached.expires > now) return cached.result;
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.clear();
    const result = this.#check(authorization.slice(6).trim());
    this.#verified.set(key, { result, expires: now + this.#cacheMs });
    // Failures are not remembered: a wrong password always costs a bcrypt.
    if ((await result) === undefined) this.#verified.delete(key);
    return result;
  }

  async #check(encoded: string): Promise<string | undefined> {
    let decoded: string;
    try {
      decoded = Buffer.from(encoded, "base64").toString("utf8");
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const hash = this.#users.get(user);
    // An unknown user costs a bcrypt too, at the users' cost: the time of
    // an answer must not tell which user names exist.
    const against = hash ?? (await this.#decoy());
    try {
      const matches = await Bun.password.verify(decoded.slice(colon + 1), against, "bcrypt");
      return matches && hash !== undefined ? user : undefined;
    } catch {
      return undefined;
    }
  }

  #decoyHash?: Promise<string>;
  /** A bcrypt hash of a random password, at the cost of the first user's hash. */
  #decoy(): Promise<string> {
    this.#decoyHash ??= (async () => {
      const first = this.#users.values().next().value;
      const cost = Number(/^\$2[aby]\$(\d\d)\$/.exec(first ?? "")?.[1] ?? 10);
      return Bun.password.hash(crypto.randomUUID(), { algorithm: "bcrypt", cost: Math.min(Math.max(cost, 4), 31) });
    })();
    return this.#decoyHash;
  }

  /** Throws OciError UNAUTHORIZED unless the request carries valid credentials. */
  async require(request: Request): Promise<string> {
    const user = await this.verify(request.headers.get("authorization"));
    if (user === undefined) throw new OciError("UNAUTHORIZED", "authentication required");
    return user;
  }
}
