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
import type { ClientEvent, TimelineEntry } from '../events.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { ExperimentSpec, OwnClient } from '../scenario/spec.js';
import { formatWorkload } from '../scenario/spec.js';
import type { LabProcess } from '../core/process.js';
import type { Testbed } from '../testbeds/types.js';
import { now } from '../util/clock.js';
import { onLines } from '../util/lines.js';
import { subjectFor } from '../clients/workload.js';
import type { KernelWatchConfig } from '../clients/kernel-watch.js';
import type { SuperviseConfig } from '../testbeds/supervise.js';
import { fileURLToPath } from 'node:url';
import type { Timeline } from './timeline.js';

/** How often the watcher reads the socket table: the resolution of kernel detection. */
export const KERNEL_POLL_MS = 10;

/** The environment your program gets (documented in docs/guides/own-client.md). */
export function ownClientEnv(
  spec: ExperimentSpec,
  { host, port, clientId }: { host: string; port: number; clientId: string },
): Record<string, string> {
  const w = spec.workload;
  return {
    HALFOPEN_TARGET: spec.target,
    HALFOPEN_HOST: host,
    HALFOPEN_PORT: String(port),
    HALFOPEN_URL: PROTOCOLS[spec.target].url(host, port),
    HALFOPEN_CLIENT_ID: clientId,
    HALFOPEN_SUBJECT: subjectFor(clientId, '.'),
    HALFOPEN_TOPIC: subjectFor(clientId, '/'),
    HALFOPEN_WORKLOAD: formatWorkload(w),
    HALFOPEN_RATE: String(w.kind === 'idle' ? 0 : w.rate),
    HALFOPEN_QOS: String(spec.qos),
    // Output lines are stamped when they arrive: ask Python not to hold them in a buffer.
    PYTHONUNBUFFERED: '1',
  };
}

/**
 * Starts the program (under testbeds/supervise.ts) and its kernel watcher on the client's side,
 * and feeds both into the timeline. Returns the program. One detection per connection: whichever
 * of the kernel and the log line came first; the other is kept as a status event.
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
      fileURLToPath(new URL('../clients/kernel-watch.js', import.meta.url)),
      JSON.stringify({ ...dial, everyMs: KERNEL_POLL_MS } satisfies KernelWatchConfig),
    ],
    'kernel watcher',
  );
  const program = bed.spawn(
    'client',
    [
      process.execPath,
      fileURLToPath(new URL('../testbeds/supervise.js', import.meta.url)),
      JSON.stringify({ command: own.command } satisfies SuperviseConfig),
    ],
    'your client',
    env,
  );
  // One detection per connection: whichever of the kernel and the log line happened first. The
  // watcher stamps its events when it polls, log lines are stamped on arrival, so a detection is
  // held for a few polls: an earlier-stamped one arriving meanwhile wins, and what arrives
  // meanwhile (a reconnect) is put in order behind it.
  type Detected = ClientEvent & { type: 'detected' };
  let live = false;
  let since = 0n;
  let hold: { detections: { e: Detected; t: bigint }[]; entries: TimelineEntry[] } | null = null;
  const also = (e: Detected, t: bigint): TimelineEntry => ({
    src: 'client',
    t,
    type: 'status',
    name: `also detected (${e.reason})`,
    ...(e.code !== undefined ? { detail: e.code } : {}),
  });
  const push = (e: ClientEvent, t = now()): void => {
    const entry = { ...e, src: 'client', t } as TimelineEntry;
    if (hold) hold.entries.push(entry);
    else timeline.push(entry);
  };
  const release = (): void => {
    const h = hold!;
    hold = null;
    h.detections.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    const [first, ...rest] = h.detections;
    timeline.push({ ...first!.e, src: 'client', t: first!.t });
    for (const d of rest) h.entries.push(also(d.e, d.t));
    h.entries.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    for (const entry of h.entries) timeline.push(entry);
  };
  const detect = (e: Detected, t = now()): void => {
    if (hold) return void hold.detections.push({ e, t });
    if (!live || t < since) return void timeline.push(also(e, t));
    live = false;
    hold = { detections: [{ e, t }], entries: [] };
    setTimeout(release, 3 * KERNEL_POLL_MS);
  };
  onLines(watcher.stdout, (line) => {
    let event: { t: string } & ClientEvent;
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return push({ type: 'fatal', error: `kernel watcher: ${line.slice(0, 200)}` });
    }
    const { t: stamp, ...e } = event;
    const t = BigInt(stamp);
    if (e.type === 'detected') return detect(e, t);
    if (e.type === 'connected') {
      live = true;
      since = t;
    }
    push(e, t);
  });
  void watcher.exited.then((code) => {
    // 0: the runner let it go; SIGKILL: teardown. Anything else: detection is blind.
    if (code !== 0 && code !== 'SIGKILL')
      push({
        type: 'fatal',
        error: `the kernel watcher exited (${code}): ${watcher.stderrTail().trim().slice(-200)}`,
      });
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
