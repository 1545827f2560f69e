/** Helpers protocol definitions share to describe the processes they start. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReconnectingOptions } from '../clients/reconnecting.js';
import type { AppTargetConfig } from '../targets/app/config.js';
import type { TargetDef } from './types.js';

/** argv for a Node.js entry point `rel` (next to `base`) given its JSON config. */
export const nodeArgv = (base: string, rel: string, config: unknown): string[] => [
  process.execPath,
  fileURLToPath(new URL(rel, base)),
  JSON.stringify(config),
];

/** The same without the Node.js executable (the runner adds it for clients and sinks). */
export const entryArgv = (base: string, rel: string, config: unknown): string[] =>
  nodeArgv(base, rel, config).slice(1);

/**
 * An installed package's version, also for packages whose exports hide package.json; 'not
 * installed' when it is not (an app importing halfopen/lib need not have every protocol library).
 */
export function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    // exports hide package.json: walk up from the entry point
  }
  let entry: string;
  try {
    entry = import.meta.resolve(name);
  } catch {
    return 'not installed';
  }
  let dir = dirname(fileURLToPath(entry));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return pkg.version ?? '?';
    } catch {
      // not here: one level up
    }
  }
  return '?';
}

/** A Node.js built-in module, with the Node.js version. */
export const nodeModule = (module: string): string =>
  `node:${module} (Node.js ${process.versions.node})`;

/** The lab's own reconnect loop (TCP, ws, HTTP/2): quick, capped, no jitter. */
export const QUICK: Omit<ReconnectingOptions, 'workload'> = {
  backoff: { initialMs: 100, maxMs: 1000 },
  connectTimeoutMs: 1000,
};

/** The lab's own WebSocket, gRPC and HTTP/2 servers: each is its own sink, and pushes. */
export function appTarget(
  base: string,
  port: number,
  describe: string,
  library: string,
  what: string,
): TargetDef {
  return {
    port,
    describe,
    version: `halfopen ${what} server on ${library}`,
    // Independent servers: a Service balances between any number.
    maxReplicas: 5,
    defaultReplicas: 3,
    launch: (c) => ({
      argv: nodeArgv(base, './server.js', {
        host: c.host,
        port: c.port,
        strategy: c.strategy,
        workload: c.workload,
        firstSeq: c.firstSeq,
      } satisfies AppTargetConfig),
      files: {},
    }),
  };
}
