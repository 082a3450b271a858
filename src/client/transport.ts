/**
 * One registry over HTTP: picks the scheme, answers authentication
 * challenges (Basic, or Bearer tokens cached per scope), retries what can
 * succeed, and follows redirects without carrying credentials to another
 * host. Operations (registry-client.ts) only say what to ask and which
 * scopes it needs.
 */
import { OciError } from "../oci/index.ts";
import { type Challenge, parseChallenges, pickChallenge } from "./challenge.ts";
import { basicAuthorization, type Credentials } from "./credentials.ts";
import { candidateSchemes, type RegistryEndpoint, type Scheme } from "./endpoint.ts";
import { networkError, responseError } from "./errors.ts";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "./retry.ts";
import { TokenCache } from "./token-cache.ts";
import type { TlsSettings } from "./tls-config.ts";

export type RequestBody = string | Uint8Array | Blob | ReadableStream<Uint8Array>;

export interface RegistryRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path (`/v2/...`) on the registry, or an absolute URL it handed out (upload locations). */
  url: string;
  /** Token scopes the request needs, e.g. `repository:app:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  /**
   * A body, or a function that makes it anew for each attempt. A stream
   * given as it is can be sent once: such a request is never retried.
   */
  body?: RequestBody | (() => RequestBody);
  /** A whole-request deadline (default true). Off for blob transfers, which keep only the idle timeout. */
  deadline?: boolean;
  /**
   * Retry 408/429/5xx and dropped connections (default true). Off for
   * upload data, where the registry may have kept part of a failed body:
   * the upload resumes from the status it reports instead.
   */
  retry?: boolean;
  /** Aborts this request (beside the client's own signal). */
  signal?: AbortSignal;
}

export interface TransportOptions {
  /** Credentials, or a lookup run once when the registry first asks for them. */
  credentials?: Credentials | (() => Promise<Credentials | undefined>);
  tls?: TlsSettings;
  insecure?: boolean;
  retry?: Partial<RetryPolicy>;
  /** Deadline for small requests (ping, manifests, tokens, lists). Default 60 s. */
  requestTimeoutMs?: number;
  /** Longest silence on a connection before it is given up. Default 120 s. */
  idleTimeoutMs?: number;
  /** A proxy URL; without one Bun follows HTTP(S)_PROXY / NO_PROXY. Loopback registries are never proxied. */
  proxy?: string;
  userAgent?: string;
  /** Aborts every request of this client. */
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;
/** Go's TLS servers answer plain HTTP with this 400 body. */
const HTTP_TO_HTTPS = /HTTP request to an HTTPS server/i;

export class RegistryTransport {
  readonly endpoint: RegistryEndpoint;
  readonly #options: TransportOptions;
  readonly #retry: RetryPolicy;
  readonly #session: Bun.FetchSession;
  readonly #tokens: TokenCache;
  #candidates: Scheme[];
  #scheme?: Promise<Scheme>;
  #challenge?: Challenge;
  #credentials?: Promise<Credentials | undefined>;

  constructor(endpoint: RegistryEndpoint, options: TransportOptions = {}) {
    this.endpoint = endpoint;
    this.#options = options;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    const tls = options.tls;
    this.#session = new Bun.FetchSession({
      keepAlive: true,
      ...(tls ? { tls: { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.rejectUnauthorized } } : {}),
      ...(options.insecure && !tls ? { tls: { rejectUnauthorized: false } } : {}),
      ...(options.proxy ? { proxy: options.proxy } : {}),
    });
    this.#candidates = candidateSchemes(endpoint, { insecure: options.insecure, hasTlsMaterial: tls?.hasMaterial });
    if (this.#candidates.length === 1) this.#scheme = Promise.resolve(this.#candidates[0]!);
    this.#tokens = new TokenCache((challenge, scopes) => this.#fetchToken(challenge, scopes));
  }

  /** The registry as users name it (`host:port`). */
  get registry(): string {
    return this.endpoint.registry;
  }

  /** The base URL once the scheme is known (`http://127.0.0.1:5000`). */
  async baseUrl(): Promise<string> {
    return `${await this.scheme()}://${this.endpoint.apiHost}`;
  }

  /** The scheme this registry speaks, found by probing `/v2/` when more than one is possible. */
  scheme(): Promise<Scheme> {
    this.#scheme ??= this.#probeScheme();
    return this.#scheme;
  }

  /** Send a request, authenticating and retrying as needed. Any HTTP answer is returned; only network failures throw. */
  async send(request: RegistryRequest): Promise<Response> {
    let scopes = request.scopes;
    let refused: string | undefined;
    for (let round = 0; ; round++) {
      const authorization = await this.#authorization(scopes, refused);
      const response = await this.#sendWithRetries(request, authorization);
      if (response.status !== 401 || round >= 2) return response;
      const challenge = pickChallenge(parseChallenges(response.headers.get("www-authenticate")));
      if (!challenge || !isReplayable(request.body)) return response;
      const credentials = await this.#getCredentials();
      // Basic credentials that were sent and refused will be refused again.
      if (challenge.scheme === "basic" && (authorization?.startsWith("Basic ") || !credentials)) return response;
      if (challenge.scheme === "bearer" && authorization?.startsWith("Bearer ")) {
        if (refused === authorization) return response;
        refused = authorization;
      }
      await drain(response);
      this.#challenge = challenge;
      const wanted = challenge.params.scope?.split(" ").filter(Boolean) ?? [];
      scopes = [...new Set([...scopes, ...wanted])];
    }
  }

  /**
   * Send and check: returns the response when its status is one of `ok`,
   * else throws the registry's error as an OciError.
   */
  async expect(request: RegistryRequest, ok: number[], what: string, notFound?: OciError["code"]): Promise<Response> {
    const response = await this.send(request);
    if (ok.includes(response.status)) return response;
    throw await responseError(response, what, notFound);
  }

  /**
   * Check that the registry accepts our credentials: `GET /v2/`, answering
   * whatever challenge it sends. Throws OciError UNAUTHORIZED when refused.
   */
  async checkAccess(): Promise<void> {
    const response = await this.send({ method: "GET", url: "/v2/", scopes: [] });
    if (response.ok) {
      await drain(response);
      return;
    }
    throw await responseError(response, `Registry ${this.registry}`);
  }

  /** Close idle keep-alive connections. */
  close(): void {
    this.#session.close();
  }

  async #probeScheme(): Promise<Scheme> {
    let lastError: unknown;
    for (const scheme of this.#candidates) {
      try {
        const response = await this.#fetch(new URL(`${scheme}://${this.endpoint.apiHost}/v2/`), { method: "GET" }, true);
        if (response.status === 400) {
          const text = await response.text().catch(() => "");
          if (HTTP_TO_HTTPS.test(text)) continue;
        } else await drain(response);
        return scheme;
      } catch (error) {
        if (this.#options.signal?.aborted) throw error;
        lastError = error;
      }
    }
    // Nobody answered: keep the first choice so the request itself reports (and retries) the failure.
    this.#scheme = undefined;
    if (lastError && !isRetryableNetworkError(lastError)) throw networkError(this.registry, lastError);
    return this.#candidates[0]!;
  }

  async #getCredentials(): Promise<Credentials | undefined> {
    const source = this.#options.credentials;
    this.#credentials ??= typeof source === "function" ? source() : Promise.resolve(source);
    return this.#credentials;
  }

  async #authorization(scopes: string[], refused?: string): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === "basic") {
      const credentials = await this.#getCredentials();
      return credentials?.password !== undefined ? basicAuthorization(credentials) : undefined;
    }
    if (refused) this.#tokens.forget(refused);
    return `Bearer ${await this.#tokens.get(challenge, scopes)}`;
  }

  async #fetchToken(challenge: Challenge, scopes: string[]): Promise<{ token: string; expiresInSeconds?: number; issuedAt?: string }> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? "");
    } catch {
      throw new OciError("UNAUTHORIZED", `Registry ${this.registry} asks for a token but names no valid realm (${JSON.stringify(realm)})`);
    }
    const credentials = await this.#getCredentials();
    const service = challenge.params.service;
    const headers: Record<string, string> = {};
    let init: RequestInit;
    if (credentials?.identityToken !== undefined) {
      // An identity token is an OAuth2 refresh token: exchange it with a form POST.
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: "stevedore" });
      if (service) form.set("service", service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      headers["content-type"] = "application/x-www-form-urlencoded";
      init = { method: "POST", headers, body: form.toString() };
    } else {
      if (service) url.searchParams.set("service", service);
      for (const scope of scopes) url.searchParams.append("scope", scope);
      if (credentials) {
        url.searchParams.set("account", credentials.username);
        headers.authorization = basicAuthorization(credentials);
      }
      init = { method: "GET", headers };
    }
    const response = await this.#sendWithRetries({ method: init.method as "GET", url: url.href, scopes: [], headers, body: init.body as string | undefined }, headers.authorization, true);
    if (!response.ok) {
      const who = credentials?.username ? `the credentials of ${JSON.stringify(credentials.username)}` : "anonymous access";
      if (response.status === 401 || response.status === 403) {
        await drain(response);
        throw new OciError("UNAUTHORIZED", `Registry ${this.registry}: the token server ${url.host} refused ${who}`, undefined, response.status);
      }
      throw await responseError(response, `Registry ${this.registry}: token server ${url.host}`);
    }
    const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const token = typeof body?.token === "string" && body.token ? body.token : body?.access_token;
    if (typeof token !== "string" || !token) {
      throw new OciError("UNAUTHORIZED", `Registry ${this.registry}: the token server ${url.host} answered without a token`);
    }
    return {
      token,
      expiresInSeconds: typeof body?.expires_in === "number" ? body.expires_in : undefined,
      issuedAt: typeof body?.issued_at === "string" ? body.issued_at : undefined,
    };
  }

  async #sendWithRetries(request: RegistryRequest, authorization: string | undefined, external = false): Promise<Response> {
    const replayable = isReplayable(request.body) && request.retry !== false;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.#exchange(request, authorization, external);
      } catch (error) {
        if (this.#options.signal?.aborted) throw this.#options.signal.reason ?? error;
        // Not the network: a body that refused to go on (a size check), or a redirect loop.
        if (error instanceof OciError) throw error;
        if (!replayable || attempt >= this.#retry.attempts || !isRetryableNetworkError(error)) {
          throw networkError(this.registry, error);
        }
        await sleep(backoffDelay(this.#retry, attempt), this.#options.signal);
        continue;
      }
      if (isRetryableStatus(response.status) && replayable && attempt < this.#retry.attempts) {
        const delay = backoffDelay(this.#retry, attempt, parseRetryAfter(response.headers.get("retry-after")));
        await drain(response);
        await sleep(delay, this.#options.signal);
        continue;
      }
      return response;
    }
  }

  /** One attempt, following redirects by hand so credentials stay with the registry's host. */
  async #exchange(request: RegistryRequest, authorization: string | undefined, external: boolean): Promise<Response> {
    const base = external ? undefined : await this.baseUrl();
    let url = new URL(request.url, base);
    const origin = url.origin;
    let method: string = request.method;
    let body = typeof request.body === "function" ? request.body() : request.body;
    for (let hop = 0; ; hop++) {
      const headers = new Headers(request.headers);
      headers.set("user-agent", this.#options.userAgent ?? "stevedore");
      if (authorization && url.origin === origin) headers.set("authorization", authorization);
      else headers.delete("authorization");
      const response = await this.#fetch(url, { method, headers, body }, request.deadline ?? true, request.signal);
      const location = response.headers.get("location");
      if (!isRedirect(response.status) || !location) return response;
      if (hop >= MAX_REDIRECTS) {
        await drain(response);
        throw new OciError("UNKNOWN", `Registry ${this.registry}: too many redirects for ${request.method} ${request.url}`);
      }
      await drain(response);
      url = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      } else if (body !== undefined) {
        // A 307/308 repeats the body: only possible when it can be made again.
        if (typeof request.body !== "function" && body instanceof ReadableStream) return response;
        body = typeof request.body === "function" ? request.body() : body;
      }
    }
  }

  #fetch(url: URL, init: { method: string; headers?: HeadersInit; body?: RequestBody }, deadline: boolean, signal?: AbortSignal): Promise<Response> {
    const signals: AbortSignal[] = [];
    if (this.#options.signal) signals.push(this.#options.signal);
    if (signal) signals.push(signal);
    if (deadline) signals.push(AbortSignal.timeout(this.#options.requestTimeoutMs ?? 60_000));
    const loopbackTarget = this.endpoint.loopback && url.host === this.endpoint.apiHost;
    return this.#session.fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body as BodyInit | undefined,
      redirect: "manual",
      signal: signals.length === 1 ? signals[0] : signals.length ? AbortSignal.any(signals) : undefined,
      timeout: this.#options.idleTimeoutMs ?? 120_000,
      decompress: false,
      ...(loopbackTarget ? { proxy: false as const } : {}),
      // Streaming bodies need half-duplex in the fetch standard.
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as BunFetchRequestInit);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function isReplayable(body: RegistryRequest["body"]): boolean {
  return !(body instanceof ReadableStream);
}

/** Finish with a response we do not read: small bodies are read so the connection can be reused. */
export async function drain(response: Response): Promise<void> {
  if (response.bodyUsed || !response.body) return;
  const length = Number(response.headers.get("content-length") ?? "NaN");
  try {
    if (length <= 65536) await response.arrayBuffer();
    else await response.body.cancel();
  } catch {
    // Nothing to recover from a body nobody wants.
  }
}
