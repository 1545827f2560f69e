/**
 * `halfopen k8s serve target|sink`: what runs in a target pod's containers on a real cluster. It
 * starts the same process the local testbeds start (the broker with the lab's config, the lab's
 * own server, or a broker's sink), with the same arguments, so an experiment measures the same
 * thing everywhere. The process's output goes to the container's log, which the driver streams.
 *
 * The driver steers it over a small TCP port of the pod (CONTROL_PORTS): `start` (the far side
 * begins publishing once the client is subscribed) and `signal SIGTERM` (stop sending at the end).
 * Locally these go to the process's stdin and to the process itself; a pod's stdin is not the
 * driver's to write.
 *
 * The kubelet's SIGTERM (pod deletion) is passed on at once: the pod stops as its server would.
 * The process's stdin stays open for as long as this wrapper lives: the lab's children take a
 * closed stdin for their parent's death.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../../errors.js';
import { PROTOCOLS } from '../../protocols/index.js';
import { kubeOf } from '../../runner/spec-questions.js';
import { onLines } from '../../util/lines.js';
import { CONTROL_PORTS, experimentAt, loadExperiments, replicaHost, type PodRole } from './plan.js';

export interface ServeOptions {
  role: string;
  experiments: string;
  index?: string;
  /** The pod's name (the downward API's HALFOPEN_POD_NAME): its replica number ends it. */
  podName?: string;
}

/** The argv (and config files) this pod's container runs, as the local testbeds would. */
export function serveArgv(opts: ServeOptions): { role: PodRole; argv: string[] } {
  if (opts.role !== 'target' && opts.role !== 'sink')
    throw new BadInputError(`k8s serve: role '${opts.role}' is unknown (expected target or sink)`);
  const role: PodRole = opts.role;
  const doc = loadExperiments(opts.experiments);
  const index = experimentAt(doc, opts.index);
  const spec = doc.experiments[index]!;
  const protocol = PROTOCOLS[spec.target];
  const port = protocol.target.port;
  if (role === 'sink') {
    if (!protocol.sink) throw new BadInputError(`the ${spec.target} target has no sink`);
    const args = protocol.sink.argv({
      port,
      clientId: `c${index}`,
      workload: spec.workload,
      qos: spec.qos,
    });
    return { role, argv: [process.execPath, ...args] };
  }
  const replicas = kubeOf(spec).replicas;
  const replica = Number(/-(\d+)$/.exec(opts.podName ?? '')?.[1] ?? '0');
  const dir = mkdtempSync(join(tmpdir(), 'halfopen-serve-'));
  const launch = protocol.target.launch({
    host: '0.0.0.0',
    port,
    dir,
    strategy: spec.strategy,
    workload: spec.workload,
    firstSeq: 1,
    ...(replicas > 1
      ? {
          cluster: {
            name: opts.podName ?? `replica-${replica}`,
            peers: [...Array(replicas).keys()]
              .filter((r) => r !== replica)
              .map((r) => replicaHost(doc.runId, index, r)),
            advertise: spec.kube?.advertise ?? false,
          },
        }
      : {}),
  });
  for (const [name, text] of Object.entries(launch.files)) writeFileSync(join(dir, name), text);
  return { role, argv: [...launch.argv, ...(protocol.target.logsClients ?? [])] };
}

/** Runs the container's process until it exits; resolves with its exit code. */
export function serve(opts: ServeOptions): Promise<number> {
  const { role, argv } = serveArgv(opts);
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { stdio: ['pipe', 'inherit', 'inherit'] });
  child.stdin.on('error', () => undefined);
  const control = net.createServer((socket) => {
    socket.on('error', () => undefined);
    onLines(socket, (line) => {
      const [verb, arg] = line.trim().split(/\s+/);
      if (verb === 'start') child.stdin.write('start\n');
      else if (verb === 'signal' && (arg === 'SIGTERM' || arg === 'SIGKILL' || arg === 'SIGINT'))
        child.kill(arg);
    });
  });
  control.listen(CONTROL_PORTS[role], '0.0.0.0');
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      control.close();
      resolve(code ?? (signal === 'SIGKILL' ? 137 : 143));
    });
    child.on('error', (err) => {
      process.stderr.write(`k8s serve: cannot start ${cmd}: ${err.message}\n`);
      control.close();
      resolve(127);
    });
  });
}
