/**
 * `halfopen k8s watch-here`: what runs in the ephemeral container `k8s watch` adds to a user's pod.
 * It shares the pod's network namespace, so the lab's kernel watcher (clients/kernel-watch.ts)
 * sees the application's own sockets in /proc/net/tcp, whatever language the application is in,
 * and reports as JSON lines (the container's log) when its connection to the target is
 * established, leaves ESTABLISHED, or is replaced by a new one. It stops after `--for`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KernelWatchConfig } from '../../clients/kernel-watch.js';
import { BadInputError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';

/** `a.b.c.d:port` (a Service's ClusterIP, a pod's address). */
export function parseRemote(text: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65_535)
    throw new BadInputError(`'${text}' is not an IPv4 address and port (like 10.96.0.12:4222)`);
  return { host: m[1]!, port };
}

/** How often the watcher reads /proc/net/tcp: the resolution of what it reports. */
export const WATCH_POLL_MS = 50;

export function watchHere(opts: { to: string; for: string }): Promise<number> {
  const [first, ...rest] = opts.to.split(',').map(parseRemote);
  const forMs = parseDuration(opts.for, '--for');
  const config: KernelWatchConfig = { ...first!, also: rest, everyMs: WATCH_POLL_MS };
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../../clients/kernel-watch.js', import.meta.url)),
      JSON.stringify(config),
    ],
    { stdio: ['pipe', 'inherit', 'inherit'] },
  );
  // The watcher stops when its stdin closes: at the end of --for, or when this container is told to.
  const stop = (): void => {
    child.stdin.end();
  };
  const timer = setTimeout(stop, forMs);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, stop);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 0);
    });
  });
}
