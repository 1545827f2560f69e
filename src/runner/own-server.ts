/**
 * Your own server (`halfopen run --server-cmd '<command>'`): any program, run by /bin/sh where the
 * target runs (the server namespace, each pod on kube, the host on the proxy testbed), told where
 * to listen by HALFOPEN_* variables. The lab learns what it needs without the program's help: it
 * is ready when the kernel lists its listening socket (targets/listen-watch.ts). A line
 * `recv <seq>` of its output is a delivery (the lab's own servers report the same); every other
 * line is kept in the timeline as the target's log.
 */
import { fileURLToPath } from 'node:url';
import type { LabProcess } from '../core/process.js';
import { formatWorkload } from '../core/workload.js';
import type { ExperimentSpec, OwnServer } from '../scenario/spec.js';
export { ownServerVersion } from '../faults/spec.js';
import type { ServerSite } from '../testbeds/types.js';
import type { SuperviseConfig } from '../testbeds/supervise.js';
import type { ListenWatchConfig } from '../targets/listen-watch.js';
import { now } from '../util/clock.js';
import { onLines } from '../util/lines.js';
import type { Timeline } from './timeline.js';

/** How often the watcher looks for the listening socket. */
const LISTEN_POLL_MS = 20;

/** The environment your server gets (documented in `run --help` and docs/guides/own-server.md). */
export function ownServerEnv(
  spec: ExperimentSpec,
  at: { host: string; port: number; pod: string },
): Record<string, string> {
  return {
    HALFOPEN_TARGET: spec.target,
    HALFOPEN_HOST: at.host,
    HALFOPEN_PORT: String(at.port),
    HALFOPEN_POD: at.pod,
    HALFOPEN_WORKLOAD: formatWorkload(spec.workload),
    PYTHONUNBUFFERED: '1',
  };
}

const entry = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

/**
 * Starts the program (under testbeds/supervise.ts, which lets it drain on SIGTERM) and the watcher
 * that says when it listens, on `site`, and feeds both into the timeline. Returns the program.
 */
export function startOwnServer(
  spec: ExperimentSpec,
  own: OwnServer,
  site: ServerSite,
  at: { host: string; port: number },
  timeline: Timeline,
): LabProcess {
  const { pod } = site;
  const tag = pod ? { pod } : {};
  const watcher = site.spawn(
    [
      process.execPath,
      entry('../targets/listen-watch.js'),
      JSON.stringify({
        address: site.address,
        port: at.port,
        everyMs: LISTEN_POLL_MS,
      } satisfies ListenWatchConfig),
    ],
    `listen watcher ${site.name}`,
  );
  timeline.attach('target', watcher, pod);
  const program = site.spawn(
    [
      process.execPath,
      entry('../testbeds/supervise.js'),
      JSON.stringify({ command: own.command, onTerm: 'drain' } satisfies SuperviseConfig),
    ],
    `your server ${site.name}`,
    ownServerEnv(spec, { ...at, pod: site.name }),
  );
  for (const stream of [program.stdout, program.stderr])
    onLines(stream, (line) => {
      const m = /^recv (\d+)$/.exec(line.trim());
      timeline.push(
        m
          ? { src: 'target', t: now(), type: 'recv', seq: Number(m[1]), ...tag }
          : { src: 'target', t: now(), type: 'log', line: line.slice(0, 500), ...tag },
      );
    });
  void program.exited.then((code) => {
    // It exits when its listener never came: the watcher goes with it.
    if (!watcher.hasExited()) watcher.kill('SIGKILL');
    timeline.push({ src: 'target', t: now(), type: 'log', line: `exited (${code})`, ...tag });
  });
  return program;
}
