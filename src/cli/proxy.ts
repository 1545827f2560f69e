/**
 * `halfopen proxy serve`: the fault proxy with its Toxiproxy-compatible API, in the foreground,
 * until Ctrl-C (which closes every proxy and connection). No root needed.
 */
import { BadInputError, LabUnavailableError } from '../errors.js';
import { serveApi } from '../proxy/api.js';
import { ProxyServer, splitHostPort } from '../proxy/proxy.js';
import { createFromConfig, listenFailure, loadProxyConfig } from './proxy-config.js';

export async function proxyServeCommand(
  flags: { api: string; config?: string; json?: boolean },
  signal: AbortSignal,
): Promise<void> {
  let where: { host: string; port: number };
  try {
    where = splitHostPort(flags.api, '--api');
  } catch (err) {
    throw new BadInputError((err as Error).message);
  }
  // The whole file is checked before anything listens; its proxies exist before the API does.
  const config = flags.config === undefined ? [] : await loadProxyConfig(flags.config);
  const proxies = new ProxyServer();
  await createFromConfig(proxies, flags.config ?? '', config);
  let api: Awaited<ReturnType<typeof serveApi>>;
  try {
    api = await serveApi(proxies, where.host, where.port);
  } catch (err) {
    await proxies.closeAll();
    throw listenFailure(`--api ${flags.api}: cannot listen`, err);
  }
  const list = [...proxies.proxies.values()];
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ api: `http://${api.address}`, proxies: list.map((p) => p.toJSON()) })}\n`
      : `halfopen proxy: Toxiproxy-compatible API on http://${api.address} (Ctrl-C to stop)\n${list
          .map(
            (p) =>
              `  proxy ${p.name}  ${p.listen} -> ${p.upstream}  ${p.enabled ? 'enabled' : 'disabled'}\n`,
          )
          .join('')}`,
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await proxies.closeAll();
  await new Promise<void>((resolve) => {
    api.http.close(() => resolve());
    api.http.closeAllConnections();
  });
}

/** One call to a running `halfopen proxy serve`; its error becomes one line. */
async function call(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://${api}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch {
    throw new LabUnavailableError(
      `no proxy API at ${api} (start one with: halfopen proxy serve --api ${api})`,
    );
  }
  const text = await res.text();
  const data: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const why = (data as { error?: string } | null)?.error ?? res.statusText;
    throw new BadInputError(`proxy API: ${why}`);
  }
  return data;
}

const print = (flags: { json?: boolean }, data: unknown, human: string): void => {
  process.stdout.write(flags.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
};

interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: {
    name: string;
    type: string;
    stream: string;
    toxicity: number;
    attributes: Record<string, number>;
  }[];
}

const describeProxy = (p: ProxyJson): string =>
  `${p.name}  ${p.listen} -> ${p.upstream}  ${p.enabled ? 'enabled' : 'disabled'}${p.toxics
    .map(
      (t) =>
        `\n  toxic ${t.name}: ${t.type} ${t.stream} toxicity ${t.toxicity} ${JSON.stringify(t.attributes)}`,
    )
    .join('')}`;

export async function proxyListCommand(flags: { api: string; json?: boolean }): Promise<void> {
  const all = (await call(flags.api, 'GET', '/proxies')) as Record<string, ProxyJson>;
  const list = Object.values(all);
  print(flags, all, list.length ? list.map(describeProxy).join('\n') : 'no proxies');
}

export async function proxyAddCommand(
  name: string,
  flags: { api: string; listen: string; upstream: string; json?: boolean },
): Promise<void> {
  const p = (await call(flags.api, 'POST', '/proxies', {
    name,
    listen: flags.listen,
    upstream: flags.upstream,
  })) as ProxyJson;
  print(flags, p, describeProxy(p));
}

export interface ToxicFlags {
  api: string;
  stream: string;
  toxicity: string;
  attr: string[];
  name?: string;
  json?: boolean;
}

export async function proxyToxicCommand(
  proxy: string,
  type: string,
  flags: ToxicFlags,
): Promise<void> {
  const attributes: Record<string, number> = {};
  for (const kv of flags.attr) {
    const m = /^([a-z_]+)=(\d+(?:\.\d+)?)$/.exec(kv);
    if (!m) throw new BadInputError(`--attr '${kv}' must be <name>=<number>, e.g. latency=100`);
    attributes[m[1]!] = Number(m[2]);
  }
  const toxicity = Number(flags.toxicity);
  const t = await call(flags.api, 'POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, {
    ...(flags.name ? { name: flags.name } : {}),
    type,
    stream: flags.stream,
    toxicity: Number.isFinite(toxicity) ? toxicity : flags.toxicity,
    attributes,
  });
  const { name } = t as { name: string };
  print(flags, t, `added toxic ${name} to ${proxy}`);
}

export async function proxyRemoveCommand(
  proxy: string,
  toxic: string | undefined,
  flags: { api: string; json?: boolean },
): Promise<void> {
  const path = `/proxies/${encodeURIComponent(proxy)}${toxic ? `/toxics/${encodeURIComponent(toxic)}` : ''}`;
  await call(flags.api, 'DELETE', path);
  print(
    flags,
    { removed: toxic ?? proxy },
    `removed ${toxic ? `toxic ${toxic} from ${proxy}` : `proxy ${proxy}`}`,
  );
}

export async function proxyResetCommand(flags: { api: string; json?: boolean }): Promise<void> {
  await call(flags.api, 'POST', '/reset');
  print(flags, { reset: true }, 'every proxy enabled, every toxic removed');
}
