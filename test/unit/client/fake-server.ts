/** A tiny in-process HTTP server for client tests: records requests, answers with a handler. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface FakeServer {
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  requests: RecordedRequest[];
  stop(): void;
  [Symbol.dispose](): void;
}

export function fakeServer(handler: (request: Request, body: Uint8Array, url: URL) => Response | Promise<Response>): FakeServer {
  const requests: RecordedRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const body = new Uint8Array(await request.arrayBuffer());
      const url = new URL(request.url);
      requests.push({ method: request.method, path: url.pathname + url.search, headers: Object.fromEntries(request.headers), body });
      return handler(request, body, url);
    },
  });
  const stop = () => void server.stop(true);
  return {
    url: `http://127.0.0.1:${server.port}`,
    host: `127.0.0.1:${server.port}`,
    port: server.port!,
    requests,
    stop,
    [Symbol.dispose]: stop,
  };
}

export const json = (body: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(body), { ...init, headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) } });

export const ociError = (status: number, code: string, message = code.toLowerCase()) => json({ errors: [{ code, message }] }, { status });
