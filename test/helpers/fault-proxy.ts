/**
 * A fault-injecting HTTP/1.1 proxy in front of a real registry, for
 * tests of what clients do when the network or the peer misbehaves. It
 * speaks raw HTTP on a TCP socket (Bun.serve would fix up what we want
 * to break, such as Content-Length), forwards each request to the
 * upstream with fetch, and applies the first matching rule:
 *
 *   status    answer this status (and headers, e.g. Retry-After) without forwarding
 *   reset     close the connection before answering (after reading `afterBytes` of the request body)
 *   truncate  send the true Content-Length but only `bytes` of the body, then close
 *   length    declare this Content-Length whatever the body is, send what fits, then close
 *   corrupt   flip the byte at `offset` of the body (same length: a wrong digest)
 *   stall     send `bytes` of the body, then nothing, until the client gives up
 *   headers   forward, replacing these response headers (a lying Docker-Content-Digest)
 *
 * Rules apply `times` times (default: always), then fall through, so
 * "503 twice, then fine" is one rule. Upstream Location headers are
 * rewritten to the proxy. Request bodies are held in memory: test blobs
 * are small.
 *
 *   await using proxy = await startFaultProxy(registry.url);
 *   proxy.rules = [{ method: "GET", path: /\/blobs\//, times: 2, fault: { kind: "status", status: 503, headers: { "Retry-After": "1" } } }];
 *   ... sync from docker://${proxy.host}/app:1.0 ...
 *   proxy.log   // every request, with the fault it met
 */
import { createServer, type Server, type Socket } from "node:net";

export type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  | { kind: "reset"; afterBytes?: number }
  | { kind: "truncate"; bytes: number }
  | { kind: "length"; contentLength: number }
  | { kind: "corrupt"; offset: number }
  | { kind: "stall"; bytes: number }
  | { kind: "headers"; headers: Record<string, string> };

export interface FaultRule {
  method?: string;
  path: RegExp;
  /** How many matching requests this rule takes (default: all). */
  times?: number;
  fault: Fault;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  /** The status sent, or undefined when the connection was cut first. */
  status?: number;
  fault?: Fault["kind"];
}

export interface FaultProxy {
  url: string;
  host: string;
  rules: FaultRule[];
  readonly log: ProxyLogEntry[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface ParsedRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Uint8Array;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection", "upgrade", "te", "trailer"]);

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const upstreamOrigin = new URL(upstream).origin;
  const sockets = new Set<Socket>();
  const hits = new Map<FaultRule, number>();
  const state = { rules: [] as FaultRule[], log: [] as ProxyLogEntry[], origin: "" };

  const pickFault = (request: { method: string; path: string }): Fault | undefined => {
    for (const rule of state.rules) {
      if (rule.method && rule.method !== request.method) continue;
      if (!rule.path.test(request.path)) continue;
      const used = hits.get(rule) ?? 0;
      if (rule.times !== undefined && used >= rule.times) continue;
      hits.set(rule, used + 1);
      return rule.fault;
    }
    return undefined;
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = Buffer.alloc(0);
    let busy = false;
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });

    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const parsed = parseRequest(buffer);
          if (parsed === "incomplete") {
            // A reset rule that fires part-way through a request body.
            const head = parseHead(buffer);
            if (head) {
              const fault = peekFault(head);
              if (fault?.kind === "reset" && buffer.byteLength - head.headLength >= (fault.afterBytes ?? 0)) {
                pickFault(head);
                state.log.push({ method: head.method, path: head.path, fault: "reset" });
                socket.destroy();
              }
            }
            return;
          }
          if (parsed === "invalid") {
            socket.destroy();
            return;
          }
          buffer = buffer.subarray(parsed.consumed);
          const keepGoing = await handle(socket, parsed.request);
          if (!keepGoing || closed) return;
        }
      } finally {
        busy = false;
      }
    };

    // Which fault the next request would get, without using it up.
    const peekFault = (request: { method: string; path: string }): Fault | undefined => {
      for (const rule of state.rules) {
        if (rule.method && rule.method !== request.method) continue;
        if (!rule.path.test(request.path)) continue;
        if (rule.times !== undefined && (hits.get(rule) ?? 0) >= rule.times) continue;
        return rule.fault;
      }
      return undefined;
    };

    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      void pump();
    });
  });

  /** Answer one request; false when the connection was closed. */
  const handle = async (socket: Socket, request: ParsedRequest): Promise<boolean> => {
    const fault = pickFault(request);
    const entry: ProxyLogEntry = { method: request.method, path: request.path, ...(fault ? { fault: fault.kind } : {}) };
    state.log.push(entry);
    if (fault?.kind === "reset") {
      socket.destroy();
      return false;
    }
    if (fault?.kind === "status") {
      const body = Buffer.from(fault.body ?? JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: `injected ${fault.status}` }] }));
      entry.status = fault.status;
      await write(socket, head(fault.status, [["Content-Type", "application/json"], ...Object.entries(fault.headers ?? {})], body.byteLength));
      if (request.method !== "HEAD") await write(socket, body);
      return true;
    }
    let response: Response;
    try {
      const headers = request.headers.filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()));
      const hasBody = request.body.byteLength > 0 || ["PUT", "POST", "PATCH"].includes(request.method);
      response = await fetch(`${upstreamOrigin}${request.path}`, {
        method: request.method,
        headers,
        ...(hasBody ? { body: request.body as Uint8Array<ArrayBuffer> } : {}),
        redirect: "manual",
        decompress: false,
      } as RequestInit);
    } catch {
      socket.destroy();
      return false;
    }
    entry.status = response.status;
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => {
      if (HOP_BY_HOP.has(name)) return;
      if (name === "location" && value.startsWith(upstreamOrigin)) value = state.origin + value.slice(upstreamOrigin.length);
      if (fault?.kind === "headers" && Object.keys(fault.headers).some((k) => k.toLowerCase() === name)) return;
      headers.push([name, value]);
    });
    if (fault?.kind === "headers") headers.push(...Object.entries(fault.headers));
    const bodyless = request.method === "HEAD" || response.status === 204 || response.status === 304;
    const body = bodyless ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
    const length = bodyless ? Number(response.headers.get("content-length") ?? 0) : body.byteLength;
    if (fault?.kind === "corrupt" && body.byteLength > 0) body[Math.min(fault.offset, body.byteLength - 1)]! ^= 0xff;
    const declared = fault?.kind === "length" ? fault.contentLength : length;
    await write(socket, head(response.status, headers, declared));
    if (bodyless) return true;
    switch (fault?.kind) {
      case "truncate":
        await write(socket, body.subarray(0, fault.bytes));
        socket.destroy();
        return false;
      case "length":
        await write(socket, body.subarray(0, Math.min(body.byteLength, fault.contentLength)));
        socket.end();
        return false;
      case "stall":
        await write(socket, body.subarray(0, fault.bytes));
        return false; // nothing more, until the client closes (or the proxy stops)
      default:
        await write(socket, body);
        return true;
    }
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  state.origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: state.origin,
    host: `127.0.0.1:${port}`,
    get rules() {
      return state.rules;
    },
    set rules(rules: FaultRule[]) {
      state.rules = rules;
      hits.clear();
    },
    get log() {
      return state.log;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function head(status: number, headers: [string, string][], contentLength: number): Buffer {
  const lines = [`HTTP/1.1 ${status} ${reason(status)}`, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${contentLength}`, "", ""];
  return Buffer.from(lines.join("\r\n"), "latin1");
}

function reason(status: number): string {
  return { 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content", 307: "Temporary Redirect", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 416: "Range Not Satisfiable", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" }[status] ?? "Status";
}

function write(socket: Socket, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength === 0 || socket.destroyed) return Promise.resolve();
  if (socket.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

interface Head {
  method: string;
  path: string;
  headers: [string, string][];
  headLength: number;
}

function parseHead(buffer: Buffer): Head | undefined {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const lines = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const [method = "", path = ""] = lines[0]!.split(" ");
  const headers = lines.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
  });
  return { method, path, headers, headLength: end + 4 };
}

/** One whole request from the front of the buffer (Content-Length or chunked body). */
function parseRequest(buffer: Buffer): { request: ParsedRequest; consumed: number } | "incomplete" | "invalid" {
  const h = parseHead(buffer);
  if (!h) return "incomplete";
  const header = (name: string) => h.headers.find(([k]) => k.toLowerCase() === name)?.[1];
  if (header("transfer-encoding")?.toLowerCase().includes("chunked")) {
    const chunks: Buffer[] = [];
    let at = h.headLength;
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd < 0) return "incomplete";
      const size = Number.parseInt(buffer.subarray(at, lineEnd).toString("latin1").split(";")[0]!, 16);
      if (!Number.isFinite(size)) return "invalid";
      if (size === 0) {
        // Then optional trailers, and an empty line.
        const trailerEnd = buffer.indexOf("\r\n\r\n", lineEnd);
        if (trailerEnd < 0) return "incomplete";
        return { request: { method: h.method, path: h.path, headers: h.headers, body: Buffer.concat(chunks) }, consumed: trailerEnd + 4 };
      }
      if (buffer.byteLength < lineEnd + 2 + size + 2) return "incomplete";
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(header("content-length") ?? 0);
  if (!Number.isSafeInteger(length)) return "invalid";
  if (buffer.byteLength < h.headLength + length) return "incomplete";
  const body = Buffer.from(buffer.subarray(h.headLength, h.headLength + length));
  return { request: { method: h.method, path: h.path, headers: h.headers, body }, consumed: h.headLength + length };
}
