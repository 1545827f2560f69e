/**
 * A container of a target pod on a real cluster, as the runner sees a process: its output is the
 * container's log, streamed through the API from the start (a deleted pod's log vanishes with it,
 * so it is read while it lasts); its stdin and signals go to the lab's wrapper in the pod over the
 * pod's control port (serve.ts).
 *
 * One clock: an event's own timestamp is the pod's node's monotonic clock, which means nothing on
 * the driver's node. Each line is stamped again on arrival, as the local testbeds stamp a broker's
 * log lines. What that costs is the log's delivery delay (the kubelet's and the API server's), so
 * a sink's `recv` is late by that much; a client's events are the driver's own and are exact.
 */
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { LabProcess } from '../../core/process.js';
import { now } from '../../util/clock.js';
import { CONTROL_PORTS, type PodRole } from './plan.js';

/** What the pod process needs of the API: the container's log, followed. */
export interface LogSource {
  streamLogs(
    pod: string,
    container: string,
    onLine: (line: string) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/**
 * A JSON event line with its `t` replaced by the driver's clock; null for anything else (a
 * broker's log line, the wrapper's messages), which goes to stderr.
 */
export function restamp(line: string, t: bigint): string | null {
  if (!line.startsWith('{')) return null;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (typeof parsed !== 'object' || parsed === null || !/^\d+$/.test(String(parsed.t)))
      return null;
    return JSON.stringify({ ...parsed, t: t.toString() });
  } catch {
    return null;
  }
}

export function podProcess(
  api: LogSource,
  pod: { name: string; ip: string },
  role: PodRole,
  signal: AbortSignal,
  onLine?: (line: string) => void,
): LabProcess {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let tail = '';
  let ended = false;
  const exited = api
    .streamLogs(
      pod.name,
      role,
      (line) => {
        onLine?.(line);
        const event = restamp(line, now());
        if (event !== null) stdout.write(`${event}\n`);
        else {
          tail = `${tail}${line}\n`.slice(-4000);
          stderr.write(`${line}\n`);
        }
      },
      signal,
    )
    .catch((err: unknown) => {
      tail += `log stream: ${err instanceof Error ? err.message : String(err)}\n`;
    })
    .then(() => {
      ended = true;
      stdout.end();
      stderr.end();
      return 'log ended' as const;
    });
  // The control connection, opened at the first write; lost writes are the network's answer
  // (a deny-all policy may cut the driver off from the pod too).
  let socket: net.Socket | null = null;
  const send = (line: string): void => {
    if (ended) return;
    if (!socket || socket.destroyed) {
      socket = net.connect({ host: pod.ip, port: CONTROL_PORTS[role] });
      socket.setTimeout(10_000, () => socket?.destroy());
      socket.on('error', (err) => {
        tail += `control ${pod.ip}:${CONTROL_PORTS[role]}: ${err.message}\n`;
      });
      signal.addEventListener('abort', () => socket?.destroy(), { once: true });
    }
    socket.write(`${line}\n`);
  };
  return {
    pid: -1,
    stdout,
    stderr,
    stdin: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) send(line.trim());
        done();
      },
    }),
    exited,
    hasExited: () => ended,
    stderrTail: () => tail,
    kill: (sig) => send(`signal ${sig}`),
  };
}
