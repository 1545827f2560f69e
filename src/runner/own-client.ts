/**
 * Your own client (`halfopen run --client-cmd '<command>'`): any program, in any language, run by
 * /bin/sh in the client namespace (on the proxy testbed, on the host) with the target's address in
 * its environment. The lab learns what it needs without the program's help:
 *   - detection and reconnects from the kernel (a watcher next to it, clients/kernel-watch.ts);
 *   - detection from its output too, with `--detect-log <regex>`;
 *   - deliveries from the target's sink (built-in servers, or the broker's sink).
 * A program may print `sent <seq>` after each message its API accepted, and `recv <seq>` for each
 * one it received: then stale and lost messages are counted exactly. Otherwise loss is the gaps:
 * sequence numbers below the highest delivered that never arrived.
 */
import type { ClientEvent } from '../events.js';
import type { ExperimentSpec, OwnClient, TargetName } from '../scenario/spec.js';
import { formatWorkload } from '../scenario/spec.js';
import type { LabProcess } from '../testbeds/process.js';
import type { Testbed } from '../testbeds/types.js';
import { now } from '../util/clock.js';
import { onLines } from '../util/lines.js';
import { subjectFor } from '../clients/workload.js';
import type { KernelWatchConfig } from '../clients/kernel-watch.js';
import type { Timeline } from './timeline.js';

/** How often the watcher reads the socket table: the resolution of kernel detection. */
export const KERNEL_POLL_MS = 10;

const URLS: Record<TargetName, (host: string, port: number) => string> = {
  tcp: (h, p) => `tcp://${h}:${p}`,
  nats: (h, p) => `nats://${h}:${p}`,
  mqtt: (h, p) => `mqtt://${h}:${p}`,
  ws: (h, p) => `ws://${h}:${p}/`,
  grpc: (h, p) => `${h}:${p}`,
  h2: (h, p) => `http://${h}:${p}/`,
};

/** The environment your program gets (documented in the README). */
export function ownClientEnv(
  spec: ExperimentSpec,
  dial: { host: string; port: number },
  clientId: string,
): Record<string, string> {
  const w = spec.workload;
  return {
    HALFOPEN_TARGET: spec.target,
    HALFOPEN_HOST: dial.host,
    HALFOPEN_PORT: String(dial.port),
    HALFOPEN_URL: URLS[spec.target](dial.host, dial.port),
    HALFOPEN_CLIENT_ID: clientId,
    HALFOPEN_SUBJECT: subjectFor(clientId, '.'),
    HALFOPEN_TOPIC: subjectFor(clientId, '/'),
    HALFOPEN_WORKLOAD: formatWorkload(w),
    HALFOPEN_RATE: String(w.kind === 'idle' ? 0 : w.rate),
    HALFOPEN_QOS: String(spec.qos),
  };
}

/**
 * Starts the program and its kernel watcher on the client's side, and feeds both into the
 * timeline. Returns the program. One detection per connection: whichever of the kernel and the
 * log line comes first; the other is kept as a status event.
 */
export function startOwnClient(
  bed: Testbed,
  own: OwnClient,
  env: Record<string, string>,
  timeline: Timeline,
): LabProcess {
  const dial = bed.clientDial();
  const watcher = bed.spawn(
    'client',
    [
      process.execPath,
      new URL('../clients/kernel-watch.js', import.meta.url).pathname,
      JSON.stringify({ ...dial, everyMs: KERNEL_POLL_MS } satisfies KernelWatchConfig),
    ],
    'kernel watcher',
  );
  const program = bed.spawn('client', ['/bin/sh', '-c', own.command], 'your client', env);
  let live = false;
  const push = (e: ClientEvent, t = now()): void => timeline.push({ ...e, src: 'client', t });
  const detect = (e: ClientEvent & { type: 'detected' }, t?: bigint): void => {
    if (live) {
      live = false;
      push(e, t);
    } else push({ type: 'status', name: `also detected (${e.reason})`, detail: e.code }, t);
  };
  onLines(watcher.stdout, (line) => {
    const { t: stamp, ...e } = JSON.parse(line) as { t: string } & ClientEvent;
    const t = BigInt(stamp);
    if (e.type === 'detected') return detect(e, t);
    if (e.type === 'connected') live = true;
    push(e, t);
  });
  const logPattern = own.detectLog === null ? null : new RegExp(own.detectLog);
  for (const stream of [program.stdout, program.stderr]) {
    onLines(stream, (line) => {
      const m = /^(sent|recv) (\d+)$/.exec(line.trim());
      if (m) return push({ type: m[1] as 'sent' | 'recv', seq: Number(m[2]) });
      push({ type: 'log', line: line.slice(0, 500) });
      if (logPattern?.test(line))
        detect({ type: 'detected', reason: 'log', code: line.slice(0, 120) });
    });
  }
  void program.exited.then((code) => push({ type: 'exited', code }));
  return program;
}
