/**
 * What the proxy's metrics and config tests share: a real echo server, a round trip through a
 * proxy, and a strict parser of Prometheus' text exposition format.
 */
import { strict as assert } from 'node:assert';
import net from 'node:net';
import { waitFor } from './helpers.js';

/** An echo server on loopback. */
export async function echoServer(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}

export const portOf = (listen: string): number => Number(listen.split(':').pop());

/** Connects, sends `payload`, and resolves once all of it has come back (the echo). */
export async function roundTrip(port: number, payload: Buffer): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  let got = 0;
  sock.on('data', (d: Buffer) => (got += d.length));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(payload);
  await waitFor(() => got === payload.length, 10_000, `${payload.length} bytes echoed`);
  return sock;
}

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/;

/**
 * Parses Prometheus' text exposition format strictly: every line is a HELP, a TYPE, a sample or
 * blank, and every sample's metric has its HELP and TYPE before it. Series by `name{a="x",...}`
 * with labels in the order given.
 */
export function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  const help = new Set<string>();
  const type = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      help.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      type.add(m[1]!);
      continue;
    }
    m = SAMPLE.exec(line);
    assert.ok(m, `not a line of the text format: ${line}`);
    assert.ok(help.has(m[1]!) && type.has(m[1]!), `HELP and TYPE before ${line}`);
    series.set(`${m[1]!}{${m[2] ?? ''}}`, Number(m[3]));
  }
  return series;
}

/** A series' key: `name{a="x",b="y"}`, labels in the order the metric declares them. */
export const key = (name: string, labels: Record<string, string>): string =>
  `halfopen_proxy_${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
