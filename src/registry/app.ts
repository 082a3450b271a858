/**
 * The registry: the Distribution API as a Hono app over any image home.
 * Over the embedded store it reads and writes; over a home that can only
 * be read (an OCI layout, a bundle) it serves pulls, and every write is
 * UNSUPPORTED. Optional capabilities (mount, uploads, referrers, deletes)
 * are found with type guards, so the app knows only the interfaces.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { ImageReader } from "../oci/index.ts";
import { OciError } from "../oci/index.ts";
import { type AccessLogEntry } from "./access-log.ts";
import { bodyBytesRead } from "./body.ts";
import type { BasicAuthenticator } from "./basic-auth.ts";
import { deleteBlob, getBlob } from "./blobs.ts";
import { type HandlerContext, json, type RegistryOptions } from "./context.ts";
import { asOciError, errorResponse } from "./errors.ts";
import { listCatalog, listReferrers, listTags } from "./listing.ts";
import { deleteManifest, getManifest, putManifest } from "./manifests.ts";
import { METHODS, matchRoute, rawPath, type Route } from "./routes.ts";
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from "./uploads.ts";

export interface RegistryAppOptions extends RegistryOptions {
  /** Require HTTP basic credentials on every request. */
  auth?: BasicAuthenticator;
  /** Receives one entry per request. */
  accessLog?: (entry: AccessLogEntry) => void;
  /** Receives every fault (an error that became a 500), for the log. */
  onFault?: (error: unknown, request: Request) => void;
  /** Receives one observation per request (metrics). */
  observer?: (observation: RequestObservation) => void;
}

/** What the metrics of one request are made of. */
export interface RequestObservation {
  method: string;
  /** The endpoint (`manifest`, `blob`, `upload`, …), `unknown`, or `invalid` for a bad repository name. */
  route: Route["kind"] | "unknown" | "invalid";
  status: number;
  seconds: number;
  /** Request body bytes the handler read. */
  bytesIn: number;
  /** Response body bytes, as its Content-Length announces (0 for HEAD and 304). */
  bytesOut: number;
}

type Env = { Variables: { user?: string } };

export function createRegistryApp(home: ImageReader, options: RegistryAppOptions = {}): Hono<Env> {
  const app = new Hono<Env>();
  if (options.observer) app.use(observe(options.observer));
  if (options.accessLog) app.use(accessLogger(options.accessLog));
  if (options.auth) app.use(basicAuth(options.auth));
  app.all("*", distributionApi(home, options));
  app.onError((error, c) => {
    const oci = asOciError(error);
    if (!(error instanceof OciError)) options.onFault?.(error, c.req.raw);
    return errorResponse(oci, options.auth && oci.code === "UNAUTHORIZED" ? { "WWW-Authenticate": options.auth.challenge } : {});
  });
  return app;
}

function distributionApi(home: ImageReader, options: RegistryOptions): MiddlewareHandler<Env> {
  return async function distribution(c) {
    const request = c.req.raw;
    const route = matchRoute(rawPath(request.url));
    if (!route) throw new OciError("UNSUPPORTED", `no endpoint at ${rawPath(request.url).slice(0, 200)}`, undefined, 404);
    const method = request.method;
    if (!METHODS[route.kind].includes(method)) {
      const error = new OciError("UNSUPPORTED", `${method} is not supported here`);
      return errorResponse(error, { Allow: METHODS[route.kind].join(", ") });
    }
    const ctx: HandlerContext = { home, options, request, url: new URL(request.url), method };
    return dispatch(ctx, route);
  };
}

function dispatch(ctx: HandlerContext, route: Route): Promise<Response> | Response {
  const m = ctx.method === "HEAD" ? "GET" : ctx.method;
  switch (route.kind) {
    case "base":
      return json({});
    case "catalog":
      return listCatalog(ctx);
    case "tags":
      return listTags(ctx, route.name);
    case "referrers":
      return listReferrers(ctx, route.name, route.digest);
    case "manifest":
      if (m === "GET") return getManifest(ctx, route.name, route.reference);
      if (m === "PUT") return putManifest(ctx, route.name, route.reference);
      return deleteManifest(ctx, route.name, route.reference);
    case "blob":
      if (m === "GET") return getBlob(ctx, route.name, route.digest);
      return deleteBlob(ctx, route.name, route.digest);
    case "uploads":
      return startUpload(ctx, route.name);
    case "upload":
      if (m === "GET") return uploadStatus(ctx, route.name, route.id);
      if (m === "PATCH") return patchUpload(ctx, route.name, route.id);
      if (m === "PUT") return putUpload(ctx, route.name, route.id);
      return cancelUpload(ctx, route.name, route.id);
  }
}

function basicAuth(auth: BasicAuthenticator): MiddlewareHandler<Env> {
  return async function requireCredentials(c, next) {
    c.set("user", await auth.require(c.req.raw));
    await next();
  };
}

function observe(report: (observation: RequestObservation) => void): MiddlewareHandler<Env> {
  return async function observeRequest(c, next) {
    const started = performance.now();
    await next();
    const method = c.req.method;
    const status = c.res.status;
    const bodyless = method === "HEAD" || status === 204 || status === 304;
    report({
      method,
      route: routeKind(rawPath(c.req.url)),
      status,
      seconds: (performance.now() - started) / 1000,
      bytesIn: bodyBytesRead(c.req.raw),
      bytesOut: bodyless ? 0 : Number(c.res.headers.get("content-length") ?? 0),
    });
  };
}

function routeKind(path: string): RequestObservation["route"] {
  try {
    return matchRoute(path)?.kind ?? "unknown";
  } catch {
    return "invalid";
  }
}

function accessLogger(write: (entry: AccessLogEntry) => void): MiddlewareHandler<Env> {
  return async function accessLog(c, next) {
    const started = performance.now();
    await next();
    const server = c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
    const remote = typeof server?.requestIP === "function" ? server.requestIP(c.req.raw)?.address : undefined;
    const user = c.get("user");
    write({
      time: new Date().toISOString(),
      ...(remote ? { remote } : {}),
      ...(user ? { user } : {}),
      method: c.req.method,
      path: rawPath(c.req.url).slice(0, 1000),
      status: c.res.status,
      bytes: Number(c.res.headers.get("content-length") ?? 0),
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
