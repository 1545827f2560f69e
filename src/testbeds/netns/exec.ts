/**
 * The only place that spawns system tools. Always an argument array, never a shell string.
 */
import { spawn } from 'node:child_process';
import { CommandError, LabUnavailableError } from '../../errors.js';
import type { LabProcess } from '../../core/process.js';
import { within } from '../../util/clock.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** No lab tool call should take this long; one that does is killed rather than hang teardown. */
const TOOL_TIMEOUT_MS = 30_000;

/**
 * Signals the lab never sends its tools (it sends SIGKILL, and only on a timeout), but a terminal
 * sends the runner's whole process group: Ctrl-C, a closed terminal, Ctrl-\.
 */
const GROUP_SIGNALS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/**
 * Ctrl-C pressed again and again can kill a tool a few times in a row on a loaded machine; a tool
 * that dies of such a signal by itself would be run forever. So: this many tries, then its error.
 */
const GROUP_SIGNAL_TRIES = 20;

/**
 * Runs a system tool to completion. A tool that died of a group signal is run again: `detached`
 * puts a child in its own session, but only once the forked child calls setsid, and a group
 * signal (Ctrl-C) sent in the moment between the fork and that call is still delivered to it, so
 * it dies before it executes the tool. Such a tool did nothing, so running it again is safe; not
 * running it again left a teardown step undone (`ip netns del` died, its namespace stayed) or,
 * with `allowFail`, read as an empty answer (`ip netns pids`: "no processes").
 */
export async function run(
  argv: readonly string[],
  opts: { input?: string; allowFail?: boolean } = {},
): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await runOnce(argv, opts.input ?? '');
    if (r.signal && GROUP_SIGNALS.includes(r.signal) && attempt < GROUP_SIGNAL_TRIES) continue;
    if (r.code === 0 || opts.allowFail) return { stdout: r.stdout, stderr: r.stderr };
    throw new CommandError(argv, r.code, r.stderr);
  }
}

function runOnce(
  argv: readonly string[],
  input: string,
): Promise<RunResult & { code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    // Own process group: a second Ctrl-C at the terminal must not kill teardown's tools (but see
    // `run` for the moment before the child is in it).
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    // Our own timer rather than spawn's `timeout` option: Node 20 leaves that one armed when the
    // spawn fails (ENOENT), which held a run that only had to say "not installed" for 30 s.
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') {
        reject(
          new LabUnavailableError(
            `'${cmd}' is not installed: apt-get install -y ${packageFor(cmd!)}`,
          ),
        );
      } else reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
    child.stdin.on('error', () => undefined); // a tool that exits without reading its input
    child.stdin.end(input);
  });
}

/** A tool started ahead of time, finished when it is told. */
export interface ArmedTool {
  /** Writes the rest of its input, closes it, and waits for it to exit 0. */
  finish(tail: string): Promise<void>;
  /** Stops it unfinished (it did nothing yet), and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts a tool and gives it the first part of its input now, the rest at `finish`.
 * iptables-restore applies nothing before its COMMIT line, so a fault can load its rules before
 * T0 and commit them at T0: a few milliseconds then, instead of a process start on a loaded
 * machine.
 */
export function armTool(argv: readonly string[], head: string): ArmedTool {
  const proc = spawnLab(argv);
  proc.stdout.resume();
  proc.stdin.write(head);
  return {
    async finish(tail) {
      proc.stdin.end(tail);
      const timer = setTimeout(() => proc.kill('SIGKILL'), TOOL_TIMEOUT_MS);
      const code = await proc.exited;
      clearTimeout(timer);
      if (code !== 0)
        throw new CommandError(argv, typeof code === 'number' ? code : null, proc.stderrTail());
    },
    async kill() {
      proc.kill('SIGKILL');
      await within(proc.exited, 5000);
    },
  };
}

/** Debian package that provides a tool, for install hints. */
export function packageFor(cmd: string): string {
  if (cmd.startsWith('iptables')) return 'iptables';
  if (cmd === 'conntrack') return 'conntrack';
  if (cmd === 'sysctl') return 'procps';
  if (cmd === 'ip') return 'iproute2';
  return cmd;
}

/**
 * Starts a long-running process in a namespace. It gets its own process group (so a terminal's
 * Ctrl-C reaches only the runner, which then tears down in order) and a stdin pipe the child
 * watches: when the runner dies, even by SIGKILL, the pipe closes and the lab's own children exit.
 * Broker binaries do not watch it; they stay in their namespace until `halfopen cleanup`.
 */
export function spawnInNamespace(
  ns: string,
  argv: readonly string[],
  env?: Record<string, string>,
): LabProcess {
  return spawnLab(['ip', 'netns', 'exec', ns, ...argv], env);
}

/** The same for a process on the host itself (the proxy testbed, on loopback). */
export function spawnLab(argv: readonly string[], env?: Record<string, string>): LabProcess {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a signal reaches what it started too (your client's shell command).
    detached: true,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exitedFlag = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.on('error', (err) => {
      exitedFlag = true;
      stderr += err.message;
      resolve('spawn-error');
    });
  });
  child.stdin.on('error', () => undefined); // EPIPE after the child exits is expected
  return {
    pid: child.pid ?? -1,
    stdout: child.stdout,
    stderr: child.stderr,
    stdin: child.stdin,
    exited,
    hasExited: () => exitedFlag,
    stderrTail: () => stderr,
    kill: (signal) => {
      if (exitedFlag || child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    },
  };
}
