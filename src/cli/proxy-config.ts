/**
 * `proxy serve --config <file>`: the proxies to create before the API is up, from a JSON file in
 * Toxiproxy's `-config` format (the body POST /populate takes):
 *   [{ "name": "redis", "listen": "127.0.0.1:26379", "upstream": "127.0.0.1:6379" }, ...]
 * A bad file is one line quoting its path and the entry at fault: exit 2 for its content, exit 4
 * for an address this machine cannot listen on.
 */
import { readFile } from 'node:fs/promises';
import { BadInputError, LabUnavailableError } from '../errors.js';
import { ListenError, ProxyError, type ProxyServer } from '../proxy/proxy.js';
import { ProxyListError, quote, validateProxyList, type ProxyInput } from '../proxy/proxy-list.js';

/**
 * A failure to listen, as the CLI reports it: a host name that does not resolve is the user's
 * (exit 2); an address in use, not this machine's or not allowed is the machine's (exit 4).
 */
export function listenFailure(what: string, err: unknown): Error {
  const cause = (err instanceof ListenError ? err.cause : err) as NodeJS.ErrnoException;
  const { code } = cause;
  const message = `${what}: ${cause.message}`;
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN'
    ? new BadInputError(message)
    : new LabUnavailableError(message);
}

/** Reads and checks a config file; nothing is created. Every failure is a BadInputError. */
export async function loadProxyConfig(path: string): Promise<ProxyInput[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BadInputError(`--config ${path}: cannot read it: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadInputError(`--config ${path}: not JSON: ${(err as Error).message}`);
  }
  try {
    return validateProxyList(data, true);
  } catch (err) {
    if (err instanceof ProxyListError)
      throw new BadInputError(
        `--config ${path}: proxy ${err.index + 1} ${quote(err.entry)}: ${err.why}`,
      );
    if (err instanceof ProxyError) throw new BadInputError(`--config ${path}: ${err.message}`);
    throw err;
  }
}

/**
 * Creates the proxies of a checked config file, in order. If one cannot listen, those created
 * are closed again and the failure names the file and the entry.
 */
export async function createFromConfig(
  server: ProxyServer,
  path: string,
  list: readonly ProxyInput[],
): Promise<void> {
  for (const [i, p] of list.entries()) {
    try {
      await server.create(p);
    } catch (err) {
      await server.closeAll();
      if (err instanceof ListenError)
        throw listenFailure(
          `--config ${path}: proxy ${i + 1} ${quote({ name: p.name, listen: p.listen, upstream: p.upstream })}`,
          err,
        );
      throw err;
    }
  }
}
