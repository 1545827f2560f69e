/**
 * Detection for your own client (`--client-cmd`), read from the kernel, whatever language the
 * program is written in: runs next to it (the client namespace, or the host on the proxy
 * testbed) and polls /proc/self/net/tcp, which lists the TCP sockets of its own network
 * namespace, for connections to the target. It reports, as the lab's clients do:
 *   connected  a connection to the target reached ESTABLISHED (the one now watched)
 *   detected   the watched connection left ESTABLISHED (the program closed it, or an RST removed
 *              it), or the program opened a new connection to the target while it still looked
 *              fine (it gave up on the old one)
 *   connecting a new connection attempt (SYN sent)
 * The resolution is the poll interval.
 */
import { readFileSync } from 'node:fs';
import { emit } from '../events.js';
import { childConfig, onParentGone } from '../util/child-main.js';
import { procAddress, socketsTo } from './proc-net.js';

export interface KernelWatchConfig {
  host: string;
  port: number;
  everyMs: number;
}

const cfg = childConfig<KernelWatchConfig>();
const remote = procAddress(cfg.host, cfg.port);
/** Local ports of connections seen opening; those given up on are never watched again. */
const seen = new Set<number>();
const over = new Set<number>();
let watched: number | null = null;
let attempt = 0;

function poll(): void {
  const sockets = socketsTo(readFileSync('/proc/self/net/tcp', 'utf8'), remote);
  const fresh = [...sockets].filter(
    ([port, st]) => !seen.has(port) && (st === 'SYN_SENT' || st === 'ESTABLISHED'),
  );
  for (const [port, st] of fresh) {
    seen.add(port);
    if (st === 'SYN_SENT') emit({ type: 'connecting', attempt: attempt + 1 });
  }
  if (watched !== null) {
    const st = sockets.get(watched);
    if (st !== 'ESTABLISHED') {
      emit({ type: 'detected', reason: 'kernel', code: `ESTABLISHED->${st ?? 'gone'}` });
      over.add(watched);
      watched = null;
    } else if (fresh.length > 0) {
      emit({ type: 'detected', reason: 'kernel', code: 'new connection' });
      over.add(watched);
      watched = null;
    }
  }
  if (watched === null) {
    const up = [...sockets].find(([port, st]) => st === 'ESTABLISHED' && !over.has(port));
    if (up) {
      watched = up[0];
      attempt += 1;
      emit({ type: 'connected', attempt, remote: { address: cfg.host, port: cfg.port } });
    }
  }
}

const timer = setInterval(poll, cfg.everyMs);
poll();
onParentGone(() => {
  clearInterval(timer);
  process.exit(0);
});
