/**
 * When your own server (`--server-cmd`) is ready: runs where it runs (its namespace, its pod, or
 * the host on the proxy testbed) and polls /proc/self/net/tcp and tcp6, which list that network
 * namespace's sockets, until one listens on the target's port. Then it reports `listening`, as the
 * lab's own servers do, and exits. Whatever the server is written in, nothing is asked of it.
 */
import { readFileSync } from 'node:fs';
import { emit } from '../events.js';
import { listensOn } from '../clients/proc-net.js';
import { childConfig, onParentGone } from '../util/child-main.js';

export interface ListenWatchConfig {
  /** The address the listening event names (where the server was told to listen). */
  address: string;
  port: number;
  everyMs: number;
}

const cfg = childConfig<ListenWatchConfig>();

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // no IPv6 in this kernel
  }
};

const timer = setInterval(() => {
  if (!listensOn([read('/proc/self/net/tcp'), read('/proc/self/net/tcp6')], cfg.port)) return;
  clearInterval(timer);
  emit({ type: 'listening', address: cfg.address, port: cfg.port });
  process.exit(0);
}, cfg.everyMs);

onParentGone(() => process.exit(0));
