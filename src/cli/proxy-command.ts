/** `halfopen proxy ...`: the userland fault proxy and its control API's commands. */
import { Option, type Command } from 'commander';
import {
  proxyAddCommand,
  proxyListCommand,
  proxyRemoveCommand,
  proxyResetCommand,
  proxyServeCommand,
  proxyToxicCommand,
  type ToxicFlags,
} from './proxy.js';

export function addProxyCommands(program: Command, signal: AbortSignal): void {
  const proxy = program
    .command('proxy')
    .description(
      "the userland fault proxy (no root): a Toxiproxy-compatible API and halfopen's blackhole",
    );
  proxy
    .command('serve')
    .description('serve the proxy and its control API until Ctrl-C')
    .option(
      '--api <host:port>',
      'where the control API listens (port 0: any free port)',
      '127.0.0.1:8474',
    )
    .option(
      '--config <file>',
      "proxies to create before the API is up: a JSON list in Toxiproxy's -config format",
    )
    .option('--json', 'print the API address and the proxies as one JSON line')
    .addHelpText(
      'after',
      `
The API has Toxiproxy's paths and JSON shapes (GET/POST /proxies, /proxies/{name}/toxics, /reset,
/populate, /version), so Toxiproxy clients work unchanged, plus GET /proxies/{name}/connections
and GET /metrics (Prometheus' text format, names halfopen_proxy_*: connections accepted and
open, bytes forwarded each way, toxics active, connections a toxic reset or closed, bytes a toxic
dropped, whether each proxy is enabled).
Toxics: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, and two of
halfopen's own: blackhole (both sides stay open, nothing passes; attribute heal=<ms> resumes by
itself) and idle_timeout (a connection idle for timeout=<ms> either way is forgotten: what comes
next is dropped, or with reset=1 its sender gets an RST; add it on both streams). A toxic may name
the connection ids it applies to ("connections": [1, 2]).

--config reads a JSON list of {"name", "listen", "upstream", "enabled"?} (what POST /populate
takes) and creates every proxy before the API answers. A bad file stops it before anything
listens, in one line naming the file and the entry: exit 2 for its content, exit 4 for an address
this machine cannot listen on (in use, not its own). So does an --api address in use (exit 4).

Examples:
  halfopen proxy serve &
  curl -s -XPOST localhost:8474/proxies -d '{"name":"nats","listen":"127.0.0.1:14222","upstream":"127.0.0.1:4222"}'
  curl -s -XPOST localhost:8474/proxies/nats/toxics -d '{"type":"blackhole","stream":"upstream","attributes":{"heal":10000}}'
  curl -s localhost:8474/metrics

  echo '[{"name":"redis","listen":"127.0.0.1:26379","upstream":"127.0.0.1:6379"}]' > proxies.json
  halfopen proxy serve --config proxies.json`,
    )
    .action(async (flags: { api: string; config?: string; json?: boolean }) =>
      proxyServeCommand(flags, signal),
    );

  const apiOption = (): Option =>
    new Option('--api <host:port>', 'the running proxy API').default('127.0.0.1:8474');
  proxy
    .command('list')
    .description('list the proxies and their toxics')
    .addOption(apiOption())
    .option('--json', 'print the API answer')
    .action(async (flags: { api: string; json?: boolean }) => proxyListCommand(flags));
  proxy
    .command('add')
    .description('add a proxy: listen address -> upstream')
    .argument('<name>')
    .requiredOption('--listen <host:port>', 'where it listens (port 0: any free port)')
    .requiredOption('--upstream <host:port>', 'where it forwards to')
    .addOption(apiOption())
    .option('--json', 'print the API answer')
    .action(
      async (
        name: string,
        flags: { api: string; listen: string; upstream: string; json?: boolean },
      ) => proxyAddCommand(name, flags),
    );
  proxy
    .command('toxic')
    .description(
      'add a toxic to a proxy, e.g.: halfopen proxy toxic nats blackhole --attr heal=10000',
    )
    .argument('<proxy>')
    .argument(
      '<type>',
      'latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, blackhole, idle_timeout',
    )
    .option('--stream <dir>', 'upstream (client to server) or downstream', 'downstream')
    .option('--toxicity <p>', 'probability per connection, 0 to 1', '1')
    .option(
      '--attr <name=value>',
      'an attribute (repeatable), e.g. latency=100',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--name <name>', "the toxic's name (default <type>_<stream>)")
    .addOption(apiOption())
    .option('--json', 'print the API answer')
    .action(async (proxyName: string, type: string, flags: ToxicFlags) =>
      proxyToxicCommand(proxyName, type, flags),
    );
  proxy
    .command('remove')
    .description('remove a toxic from a proxy, or the proxy itself')
    .argument('<proxy>')
    .argument('[toxic]')
    .addOption(apiOption())
    .option('--json', 'print the result as JSON')
    .action(
      async (
        proxyName: string,
        toxic: string | undefined,
        flags: { api: string; json?: boolean },
      ) => proxyRemoveCommand(proxyName, toxic, flags),
    );
  proxy
    .command('reset')
    .description('enable every proxy and remove every toxic')
    .addOption(apiOption())
    .option('--json', 'print the result as JSON')
    .action(async (flags: { api: string; json?: boolean }) => proxyResetCommand(flags));
}
