/**
 * `halfopen proxy serve`: the fault proxy with its Toxiproxy-compatible API, in the foreground,
 * until Ctrl-C (which closes every proxy and connection). No root needed.
 */
import { BadInputError } from '../errors.js';
import { serveApi } from '../proxy/api.js';
import { ProxyServer, splitHostPort } from '../proxy/proxy.js';

export async function proxyServeCommand(
  flags: { api: string; json?: boolean },
  signal: AbortSignal,
): Promise<void> {
  let where: { host: string; port: number };
  try {
    where = splitHostPort(flags.api, '--api');
  } catch (err) {
    throw new BadInputError((err as Error).message);
  }
  const proxies = new ProxyServer();
  let api: Awaited<ReturnType<typeof serveApi>>;
  try {
    api = await serveApi(proxies, where.host, where.port);
  } catch (err) {
    throw new BadInputError(`cannot listen on ${flags.api}: ${(err as Error).message}`);
  }
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ api: `http://${api.address}` })}\n`
      : `halfopen proxy: Toxiproxy-compatible API on http://${api.address} (Ctrl-C to stop)\n`,
  );
  await new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  await proxies.closeAll();
  await new Promise<void>((resolve) => {
    api.http.close(() => resolve());
    api.http.closeAllConnections();
  });
}
