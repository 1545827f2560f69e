/**
 * GET /metrics: the proxies' counters and gauges in Prometheus' text format, from a Registry of
 * their own (not prom-client's global one), so that two servers in one process keep theirs
 * apart. Nothing is counted for it on the data path beyond what the proxy keeps anyway (bytes per
 * chunk, a count per connection): every value is read from the proxies when scraped. A removed
 * proxy's series go with it.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Proxy, ProxyServer } from './proxy.js';
import type { Tally } from './tally.js';

const P = 'halfopen_proxy_';
const STREAMS = ['upstream', 'downstream'] as const;

/** A series per (proxy, entry, type) of a tally's map, with the entry's label named `key`. */
function eachByType<K extends string>(
  proxies: Iterable<Proxy>,
  pick: (t: Tally) => Map<K, Map<string, number>>,
  emit: (labels: Record<string, string>, value: number) => void,
  key: string,
): void {
  for (const p of proxies)
    for (const [k, byType] of pick(p.tally))
      for (const [type, n] of byType) emit({ proxy: p.name, type, [key]: k }, n);
}

/** The registry of `server`'s metrics, read from its proxies at each scrape. */
export function proxyMetrics(server: ProxyServer): Registry {
  const registry = new Registry();
  const proxies = (): Iterable<Proxy> => server.proxies.values();
  const registers = [registry];
  // Counters too are set from the proxies' own counts at each scrape (reset, then the total).
  new Counter({
    name: `${P}connections_accepted_total`,
    help: 'Connections the proxy accepted.',
    labelNames: ['proxy'],
    registers,
    collect() {
      this.reset();
      for (const p of proxies()) this.inc({ proxy: p.name }, p.tally.accepted);
    },
  });
  new Gauge({
    name: `${P}connections_open`,
    help: 'Connections open through the proxy now.',
    labelNames: ['proxy'],
    registers,
    collect() {
      this.reset();
      for (const p of proxies()) this.set({ proxy: p.name }, p.connections.size);
    },
  });
  new Counter({
    name: `${P}forwarded_bytes_total`,
    help: 'Bytes the proxy forwarded; direction upstream is client to server, downstream server to client.',
    labelNames: ['proxy', 'direction'],
    registers,
    collect() {
      this.reset();
      for (const p of proxies())
        for (const direction of STREAMS) this.inc({ proxy: p.name, direction }, p.bytes(direction));
    },
  });
  new Gauge({
    name: `${P}enabled`,
    help: 'Whether the proxy is enabled (listening): 1 or 0.',
    labelNames: ['proxy'],
    registers,
    collect() {
      this.reset();
      for (const p of proxies()) this.set({ proxy: p.name }, p.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: `${P}toxics_active`,
    help: 'Toxics set on the proxy, by type and stream.',
    labelNames: ['proxy', 'type', 'stream'],
    registers,
    collect() {
      this.reset();
      for (const p of proxies())
        for (const t of p.toxics) this.inc({ proxy: p.name, type: t.type, stream: t.stream });
    },
  });
  new Counter({
    name: `${P}toxic_connections_total`,
    help: 'Connections a toxic reset (action reset: an RST to one side or both) or closed (action close: FIN), once per connection, action and toxic type.',
    labelNames: ['proxy', 'type', 'action'],
    registers,
    collect() {
      this.reset();
      eachByType(proxies(), (t) => t.actions, this.inc.bind(this), 'action');
    },
  });
  new Counter({
    name: `${P}toxic_dropped_bytes_total`,
    help: 'Bytes a toxic discarded instead of forwarding (timeout, limit_data, idle_timeout), by stream.',
    labelNames: ['proxy', 'type', 'stream'],
    registers,
    collect() {
      this.reset();
      eachByType(proxies(), (t) => t.dropped, this.inc.bind(this), 'stream');
    },
  });
  return registry;
}
