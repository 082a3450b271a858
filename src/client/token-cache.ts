/**
 * Bearer tokens, one per realm, service and set of scopes; a token is
 * fetched once however many requests want it at the same moment, and
 * replaced shortly before it expires.
 */
import type { Challenge } from "./challenge.ts";

export interface FetchedToken {
  token: string;
  /** Lifetime from the token server; the spec's default is 60 s. */
  expiresInSeconds?: number;
  issuedAt?: string;
}

interface Entry {
  promise: Promise<{ token: string; refreshAt: number }>;
  /** Set once the fetch succeeded, so `forget` can act at once. */
  token?: string;
}

const DEFAULT_LIFETIME_SECONDS = 60;

export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: (challenge: Challenge, scopes: string[]) => Promise<FetchedToken>;
  readonly #now: () => number;
  /** Tokens fetched, for tests and metrics. */
  fetched = 0;

  constructor(fetch: (challenge: Challenge, scopes: string[]) => Promise<FetchedToken>, now: () => number = Date.now) {
    this.#fetch = fetch;
    this.#now = now;
  }

  async get(challenge: Challenge, scopes: string[]): Promise<string> {
    const sorted = [...new Set(scopes)].sort();
    const key = `${challenge.params.realm ?? ""}\n${challenge.params.service ?? ""}\n${sorted.join(" ")}`;
    const existing = this.#entries.get(key);
    if (existing) {
      let value;
      try {
        value = await existing.promise;
      } catch {
        // A failed fetch is not cached: try again below.
      }
      if (this.#entries.get(key) !== existing) return this.get(challenge, scopes);
      if (value && this.#now() < value.refreshAt) return value.token;
    }
    const started = this.#now();
    const entry: Entry = {
      promise: this.#fetch(challenge, sorted).then((fetched) => {
        this.fetched++;
        const lifetime = (fetched.expiresInSeconds && fetched.expiresInSeconds > 0 ? fetched.expiresInSeconds : DEFAULT_LIFETIME_SECONDS) * 1000;
        const issued = fetched.issuedAt ? Math.min(Date.parse(fetched.issuedAt) || started, started) : started;
        // Renew at 90% of the lifetime (at most 30 s early) so no request carries a token that expires in flight.
        const margin = Math.min(lifetime * 0.1, 30_000);
        entry.token = fetched.token;
        return { token: fetched.token, refreshAt: issued + lifetime - margin };
      }),
    };
    this.#entries.set(key, entry);
    entry.promise.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return (await entry.promise).token;
  }

  /** Drop a token the registry refused (`Bearer …` or the bare token). */
  forget(authorization: string): void {
    const token = authorization.replace(/^Bearer /, "");
    for (const [key, entry] of this.#entries) if (entry.token === token) this.#entries.delete(key);
  }
}
