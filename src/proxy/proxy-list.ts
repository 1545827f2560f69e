/**
 * A list of proxies in Toxiproxy's shape, `[{ "name", "listen", "upstream", "enabled"? }]`: the
 * body of POST /populate and the file `proxy serve --config` reads (Toxiproxy's `-config`). The
 * whole list is checked before any proxy is created, as Toxiproxy's populate does.
 */
import { ProxyError, splitHostPort } from './proxy.js';

export interface ProxyInput {
  name: string;
  /** `host:port`; absent from a populate body: 127.0.0.1 at any free port. */
  listen?: string;
  upstream: string;
  enabled: boolean;
}

/** An entry of the list is wrong: which one (from 0), and why. */
export class ProxyListError extends ProxyError {
  constructor(
    readonly index: number,
    readonly entry: unknown,
    readonly why: string,
  ) {
    super(`proxy ${index + 1} ${quote(entry)}: ${why}`, 400);
  }
}

/** An entry as it reads in a message: its JSON, cut to 80 characters. */
export function quote(entry: unknown): string {
  const text = JSON.stringify(entry) ?? String(entry);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const KEYS = ['name', 'listen', 'upstream', 'enabled'];

/**
 * Checks a proxy list. `strict` (a config file): `listen` is required, unknown keys are typos,
 * and two entries may not share a name or a fixed listen address. Without it (POST /populate, as
 * Toxiproxy): unknown keys are ignored and a name met again replaces the proxy.
 */
export function validateProxyList(list: unknown, strict: boolean): ProxyInput[] {
  if (!Array.isArray(list))
    throw new ProxyError(
      `expected a list of proxies ([{"name", "listen", "upstream"}]), got ${quote(list)}`,
      400,
    );
  const names = new Map<string, number>();
  const listens = new Map<string, number>();
  return list.map((entry: unknown, i) => {
    const fail = (why: string): never => {
      throw new ProxyListError(i, entry, why);
    };
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      return fail('must be an object with name, listen and upstream');
    const p = entry as Record<string, unknown>;
    if (typeof p.name !== 'string' || !p.name) return fail('missing required field: name');
    if (typeof p.upstream !== 'string' || !p.upstream)
      return fail('missing required field: upstream');
    if (strict && (typeof p.listen !== 'string' || !p.listen))
      return fail('missing required field: listen');
    if (p.listen !== undefined && typeof p.listen !== 'string')
      return fail(`listen must be a string host:port`);
    if (p.enabled !== undefined && typeof p.enabled !== 'boolean')
      return fail(`enabled must be true or false, got ${JSON.stringify(p.enabled)}`);
    const unknown = Object.keys(p).filter((k) => !KEYS.includes(k));
    if (strict && unknown.length)
      return fail(`unknown field ${unknown[0]!} (expected: ${KEYS.join(', ')})`);
    try {
      splitHostPort(p.upstream, 'upstream');
      if (p.listen) splitHostPort(p.listen, 'listen');
    } catch (err) {
      return fail((err as Error).message);
    }
    if (strict) {
      const seen = names.get(p.name);
      if (seen !== undefined)
        return fail(`duplicate name ${p.name} (proxy ${seen + 1} has it too)`);
      names.set(p.name, i);
      const listen = p.listen as string;
      const other = listens.get(listen);
      if (other !== undefined)
        return fail(`duplicate listen ${listen} (proxy ${other + 1} has it too)`);
      if (splitHostPort(listen, 'listen').port !== 0) listens.set(listen, i);
    }
    return {
      name: p.name,
      ...(p.listen ? { listen: p.listen } : {}),
      upstream: p.upstream,
      enabled: p.enabled !== false,
    };
  });
}
