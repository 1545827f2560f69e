/**
 * The control API over HTTP, with Toxiproxy's paths and JSON shapes, so its clients work
 * unchanged:
 *   GET /version; GET|POST /proxies; POST /populate; POST /reset;
 *   GET|POST|DELETE /proxies/{proxy}; GET|POST /proxies/{proxy}/toxics;
 *   GET|POST|DELETE /proxies/{proxy}/toxics/{toxic}
 * and, ours, GET /proxies/{proxy}/connections and GET /metrics (Prometheus' text format; see
 * metrics.ts). Errors are `{"error": "...", "status": N}`.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { proxyMetrics } from './metrics.js';
import { ProxyError, type ProxyServer } from './proxy.js';
import { validateProxyList } from './proxy-list.js';

export const API_VERSION = 'halfopen-proxy 0.1.0 (Toxiproxy API 2)';

type Json = Record<string, unknown> | unknown[];
/** A string body is text/plain unless `type` says otherwise. */
type Reply = { status: number; body?: Json | string; type?: string };

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProxyError('request body is not valid JSON', 400);
  }
}

const asObject = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : (() => {
        throw new ProxyError('request body must be a JSON object', 400);
      })();

async function route(
  server: ProxyServer,
  metrics: Registry,
  req: http.IncomingMessage,
): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://api');
  let parts: string[];
  try {
    parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new ProxyError(`bad path: ${url.pathname}`, 400);
  }
  const m = req.method ?? 'GET';
  const [root, name, sub, toxic] = parts;
  if (root === 'version' && parts.length === 1 && m === 'GET')
    return { status: 200, body: API_VERSION };
  if (root === 'metrics' && parts.length === 1 && m === 'GET')
    return { status: 200, body: await metrics.metrics(), type: metrics.contentType };
  if (root === 'reset' && parts.length === 1 && m === 'POST') {
    await server.reset();
    return { status: 204 };
  }
  if (root === 'populate' && parts.length === 1 && m === 'POST') {
    const body = await readJson(req);
    // Every entry is checked before any proxy is created.
    const list = validateProxyList(Array.isArray(body) ? body : asObject(body).proxies, false);
    const out = [];
    for (const p of list)
      out.push(
        server.proxies.has(p.name) ? await server.update(p.name, p) : await server.create(p),
      );
    return { status: 201, body: { proxies: out.map((p) => p.toJSON()) } };
  }
  if (root !== 'proxies') throw new ProxyError(`not found: ${url.pathname}`, 404);
  if (name === undefined) {
    if (m === 'GET')
      return {
        status: 200,
        body: Object.fromEntries([...server.proxies].map(([k, p]) => [k, p.toJSON()])),
      };
    if (m === 'POST') {
      const p = await server.create(asObject(await readJson(req)));
      return { status: 201, body: p.toJSON() };
    }
  } else if (sub === undefined) {
    if (m === 'GET') return { status: 200, body: server.get(name).toJSON() };
    if (m === 'POST' || m === 'PATCH')
      return {
        status: 200,
        body: (await server.update(name, asObject(await readJson(req)))).toJSON(),
      };
    if (m === 'DELETE') {
      await server.remove(name);
      return { status: 204 };
    }
  } else if (sub === 'connections' && toxic === undefined && m === 'GET') {
    return { status: 200, body: [...server.get(name).connections.values()].map((c) => c.toJSON()) };
  } else if (sub === 'toxics') {
    const proxy = server.get(name);
    if (toxic === undefined) {
      if (m === 'GET') return { status: 200, body: proxy.toxics };
      if (m === 'POST')
        return {
          status: 200,
          body: { ...proxy.addToxic(asObject(await readJson(req))) },
        };
    } else {
      const found = proxy.toxics.find((t) => t.name === toxic);
      if (m === 'GET') {
        if (!found) throw new ProxyError(`toxic not found: ${toxic}`, 404);
        return { status: 200, body: { ...found } };
      }
      if (m === 'POST' || m === 'PATCH')
        return {
          status: 200,
          body: { ...proxy.updateToxic(toxic, asObject(await readJson(req))) },
        };
      if (m === 'DELETE') {
        proxy.removeToxic(toxic);
        return { status: 204 };
      }
    }
  }
  throw new ProxyError(`${m} ${url.pathname} is not supported`, 405);
}

/** Serves the API for `server` on host:port; resolves with the bound address. */
export async function serveApi(
  server: ProxyServer,
  host: string,
  port: number,
): Promise<{ http: http.Server; address: string }> {
  const metrics = proxyMetrics(server);
  const httpServer = http.createServer((req, res) => {
    route(server, metrics, req).then(
      ({ status, body, type }) => {
        if (body === undefined) res.writeHead(status).end();
        else if (typeof body === 'string')
          res.writeHead(status, { 'content-type': type ?? 'text/plain' }).end(body);
        else
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (err: unknown) => {
        const status = err instanceof ProxyError ? err.status : 500;
        const error = err instanceof Error ? err.message : String(err);
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error, status }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => resolve());
  });
  const addr = httpServer.address() as { port: number };
  return { http: httpServer, address: `${host}:${addr.port}` };
}
