/**
 * Test helpers: real testbeds on this machine's kernel, the CLI as a real child process, one spec
 * builder, and waiting by polling. Every helper registers or runs its teardown, so a failing
 * assertion still leaves nothing behind.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunFlags } from '../src/cli/run.js';
import type { TuneFlags } from '../src/cli/tune.js';
import { BadInputError } from '../src/errors.js';
import { runExperiment, type ExperimentResult } from '../src/runner/experiment.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import { defaultKube, type KubeSettings } from '../src/core/kube.js';
import {
  ownClientOf,
  parseStrategy,
  parseWorkload,
  validateSpec,
  type ExperimentSpec,
  type Strategy,
  type Workload,
} from '../src/scenario/spec.js';
import { listLabNamespaces } from '../src/testbeds/netns/cleanup.js';
import { newRunId } from '../src/testbeds/netns/names.js';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const PROBE = fileURLToPath(new URL('./fixtures/probe.js', import.meta.url));

/** The netns tests need root and network namespaces; say so once instead of failing obscurely. */
export const netnsSkip: string | false =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : spawnSync('ip', ['netns', 'list']).status !== 0
      ? 'needs iproute2 with netns'
      : false;

/** Running as root, with a user `nobody` that can read the build: the CLI can run without root. */
export const asNobody: boolean =
  process.getuid?.() === 0 &&
  spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', CLI]).status === 0;

// ---------------------------------------------------------------------------------------------
// Waiting

/** What a condition returns once it holds. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `cond` every `everyMs` until it returns something truthy, and returns that. Fails after
 * `timeoutMs`, naming `what` it waited for (a function: the state at that moment). The timeout is a bound for a loaded machine, not a
 * measurement: a condition that holds returns at the next poll.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs: number,
  what: string | (() => string),
  everyMs = 20,
): Promise<Truthy<T>> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Truthy<T>;
    if (performance.now() >= until)
      assert.fail(`timed out after ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Checks that `check` holds for `forMs`, polling: it fails as soon as `check` returns false (or
 * throws an assertion of its own). For what must not happen (nothing crosses a blackhole, no FIN
 * arrives), where the window is the claim.
 */
export async function assertStays(
  check: () => boolean | void,
  forMs: number,
  what: string,
  everyMs = 20,
): Promise<void> {
  const until = performance.now() + forMs;
  for (;;) {
    assert.notEqual(check(), false, what);
    if (performance.now() >= until) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Specs and flags

/** An experiment's fields, with the strategy and workload as a user writes them. */
export type SpecOptions = Partial<Omit<ExperimentSpec, 'strategy' | 'workload'>> & {
  strategy?: string | Strategy;
  workload?: string | Workload;
  /** Your own client, as `--client-cmd`: its strategy is `none` unless one is given. */
  clientCmd?: string;
  /** As `--detect-log`, with `clientCmd`. */
  detectLog?: string;
};

/**
 * The one spec builder: an experiment as `halfopen run` would build it, checked by the same rules
 * (validateSpec). Defaults: netns, tcp, the target's default strategy, idle, partition, a 10 s
 * deadline, 1 s warmup.
 */
export function specOf(o: SpecOptions = {}): ExperimentSpec {
  const { strategy, workload, clientCmd, detectLog, ...rest } = o;
  const target = rest.target ?? 'tcp';
  const own = ownClientOf(clientCmd, detectLog, strategy !== undefined);
  const text = strategy ?? (own ? 'none' : PROTOCOLS[target].defaultStrategy);
  return validateSpec({
    testbed: 'netns',
    target,
    ...(own ? { own } : {}),
    strategy: typeof text === 'string' ? parseStrategy(text) : text,
    workload: typeof workload === 'object' ? workload : parseWorkload(workload ?? 'idle'),
    fault: 'partition',
    healMs: null,
    restartMs: null,
    qos: 0,
    deadlineMs: 10_000,
    warmupMs: 1000,
    sysctls: {},
    ...rest,
  });
}

/**
 * A kube experiment: the kube testbed with the target's default replicas and every Kubernetes
 * delay at 1/20 of its real value (endpoint lag 50 ms, grace 1.5 s, kill minimum 100 ms,
 * NotReady 2.5 s, eviction 15 s), unless `kube` says otherwise.
 */
export function kubeSpecOf(
  o: SpecOptions & { kubeSettings?: Partial<KubeSettings> } = {},
): ExperimentSpec {
  const { kubeSettings, ...rest } = o;
  const target = rest.target ?? 'tcp';
  return specOf({
    testbed: 'kube',
    fault: 'pod-force-delete',
    kube: {
      ...defaultKube(PROTOCOLS[target].target.defaultReplicas),
      timeScale: 0.05,
      ...kubeSettings,
    },
    ...rest,
  });
}

/** `halfopen run`'s flags with the CLI's defaults (src/cli/main.ts) under `f`. */
export const runFlags = (f: Partial<RunFlags>): RunFlags => ({
  testbed: 'netns',
  deadline: '30s',
  warmup: '1s',
  sysctl: [],
  ...f,
});

/** `halfopen tune`'s flags with the CLI's defaults (src/cli/main.ts) under `f`. */
export const tuneFlags = (f: Partial<TuneFlags>): TuneFlags => ({
  target: 'tcp',
  tolerate: '1s',
  workload: 'idle',
  ...f,
});

/**
 * Bad input checked in-process: `fn` throws (or rejects with) a BadInputError, which the CLI
 * prints as one line and exits 2 with, whose message matches `re`. Returns the message.
 */
export async function assertBadInput(
  fn: () => unknown,
  re: RegExp,
  what = re.source,
): Promise<string> {
  let message = '';
  await assert.rejects(
    () => Promise.resolve().then(fn),
    (e: unknown) => {
      assert.ok(e instanceof BadInputError, `${what}: a BadInputError, got ${String(e)}`);
      assert.match(e.message, re, what);
      assert.ok(!e.message.includes('\n'), `${what}: one line: ${e.message}`);
      message = e.message;
      return true;
    },
    what,
  );
  return message;
}

// ---------------------------------------------------------------------------------------------
// Experiments and what they leave behind

let counter = 0;
/** A run id (and index) of this test process, so parallel tests never share namespace names. */
export function labIds(): { runId: string; index: number } {
  counter += 1;
  return { runId: newRunId(), index: counter };
}

/** Asserts no namespace of ours (run id prefix) exists. */
export async function assertNoLabNamespaces(runIdPrefix: string): Promise<void> {
  const left = (await listLabNamespaces()).filter((n) => n.startsWith(`halfopen-${runIdPrefix}`));
  assert.deepEqual(left, [], `namespaces left behind: ${left.join(', ')}`);
}

/** Lab namespaces owned by a given pid (a CLI run's). */
export async function namespacesOf(pid: number): Promise<string[]> {
  return (await listLabNamespaces()).filter((n) => n.startsWith(`halfopen-${pid}-`));
}

/** Lab temp directories (broker configs) owned by a given pid. */
export function dirsOf(pid: number): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith(`halfopen-${pid}-`));
}

/** The pids of the processes inside these namespaces. */
export function pidsIn(namespaces: readonly string[]): number[] {
  return namespaces.flatMap((ns) =>
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number),
  );
}

/** True once a pid is gone or a zombie (exited, waiting for init to reap it); polls up to 2 s. */
export async function gone(pid: number): Promise<boolean> {
  const exited = (): boolean => {
    try {
      return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  return waitFor(exited, 2000, `process ${pid} exits`, 50).catch(() => false);
}

/** Runs one experiment through the runner and checks it left no namespace behind. */
export async function measure(s: ExperimentSpec): Promise<ExperimentResult> {
  const ids = labIds();
  const r = await runExperiment(s, ids);
  await assertNoLabNamespaces(ids.runId);
  return r;
}

export const describeResult = (r: ExperimentResult): string =>
  `detect ${r.detect_ms} ms (${r.detect_reason}), predicted ${JSON.stringify(r.predicted_ms)}, verdict ${r.verdict}, sent ${r.sent}, lost ${r.lost}, stale ${r.stale_sent}, dup ${r.duplicates}, reconnect ${r.reconnect_ms}`;

/**
 * Messages at `rate` per second that may cross while a fault is being applied: T0 is marked
 * before the iptables transaction, which takes `fault_apply_ms` (a few ms, more on a loaded
 * machine), and one more may be in flight at either edge.
 */
export const crossing = (r: ExperimentResult, rate: number): number =>
  1 + Math.ceil((rate * (r.fault_apply_ms ?? 0)) / 1000);

// ---------------------------------------------------------------------------------------------
// Snapshots

/**
 * Asserts `text` is test/fixtures/<file> (the source tree's, not dist's). UPDATE_SNAPSHOTS=1
 * rewrites the file first: a change is accepted by reviewing its diff, never silently.
 */
export function assertSnapshot(file: string, text: string): void {
  const url = new URL(file, new URL('../../test/fixtures/', import.meta.url));
  if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(url, text);
  const want = readFileSync(url, 'utf8');
  if (text === want) return;
  // The first line that differs: assert's own diff of two long texts can take minutes.
  const [got, exp] = [text.split('\n'), want.split('\n')];
  const i = got.findIndex((l, n) => l !== exp[n]);
  const at = i === -1 ? got.length : i;
  assert.fail(
    `${file} changed at line ${at + 1}: got ${JSON.stringify(got[at])}, snapshot ${JSON.stringify(exp[at])} (UPDATE_SNAPSHOTS=1 to accept)`,
  );
}

// ---------------------------------------------------------------------------------------------
// The CLI as a user runs it

export interface CliOptions {
  /** Written to the CLI's stdin, which is then closed (default: no stdin). */
  input?: string;
  /**
   * The working directory, which the caller owns. Default: a fresh temp directory, removed once
   * the run has exited.
   */
  cwd?: string;
  /** Environment variables on top of this process's. */
  env?: Record<string, string>;
  /** Files written into the working directory before the run: relative path -> text. */
  files?: Record<string, string>;
  /** Run as this user through runuser (root only; see `asNobody`). */
  user?: string;
  /**
   * Run as on a machine without this binary: in a private mount namespace (root only) where
   * /usr/sbin holds everything but it. The pid is still the CLI's (unshare and bash exec).
   */
  without?: string;
  /** SIGKILL the run if it has not exited by then (default 300 s). */
  timeoutMs?: number;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The CLI's pid (runuser's with `user`). */
  pid: number;
  /** What the run left in its working directory besides what was there before it started. */
  created: string[];
  /** stdout parsed as one JSON value. */
  json<T = Record<string, unknown>>(): T;
}

export interface CliRun {
  readonly pid: number;
  readonly cwd: string;
  /** What it printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Sends a signal to the CLI (what it started, it tears down itself). */
  signal(sig: NodeJS.Signals): void;
  /**
   * Polls `cond` until it is truthy (and returns it). Fails at once if the run exits first; on
   * timeout stops the run (SIGINT, then waits for it) before failing, so that it does not outlive
   * the test.
   */
  waitFor<T>(cond: () => T | Promise<T>, timeoutMs: number, what: string): Promise<Truthy<T>>;
  /** Resolves when the run has exited and its output is read. */
  readonly exited: Promise<CliResult>;
}

/** Hides `$2` from /usr/sbin in a private mount namespace, the original bound at `$1`. */
const HIDE_BINARY = [
  'set -e',
  'mount --make-rprivate /',
  'mkdir -p "$1"',
  'mount --bind /usr/sbin "$1"',
  'mount -t tmpfs tmpfs /usr/sbin',
  'for f in "$1"/*; do n=${f##*/}; [ "$n" = "$2" ] || ln -s "$f" "/usr/sbin/$n"; done',
  'shift 2',
  'exec "$@"',
].join('\n');

/** Starts `halfopen <args>` as a real child process; for runs a test watches or interrupts. */
export function startCli(args: readonly string[], opts: CliOptions = {}): CliRun {
  const owned = opts.cwd === undefined ? mkdtempSync(join(tmpdir(), 'halfopen-test-cli-')) : null;
  const cwd = opts.cwd ?? owned!;
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(cwd, rel)), { recursive: true });
    writeFileSync(join(cwd, rel), text);
  }
  const before = new Set(readdirSync(cwd));
  let argv = [process.execPath, CLI, ...args];
  const shadow = opts.without ? mkdtempSync(join(tmpdir(), 'halfopen-test-sbin-')) : null;
  if (shadow) {
    argv = ['unshare', '-m', '--', 'bash', '-c', HIDE_BINARY, 'sh', join(shadow, 'sbin')]
      .concat(opts.without!)
      .concat(argv);
  }
  if (opts.user) {
    if (owned) chmodSync(owned, 0o777);
    argv = ['runuser', '-u', opts.user, '--', ...argv];
  }
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(killer);
      reject(err);
    });
    // Output may still be in the pipes at exit: 'close' comes once both are read. Bounded, in
    // case something the run started kept them open.
    child.once('exit', () => {
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, 5000).unref();
    });
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      const created = existsSync(cwd) ? readdirSync(cwd).filter((n) => !before.has(n)) : [];
      for (const dir of [owned, shadow]) if (dir) rmSync(dir, { recursive: true, force: true });
      resolve({
        code,
        signal,
        stdout,
        stderr,
        pid: child.pid!,
        created,
        json<T>(): T {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            assert.fail(`stdout is not JSON (exit ${code}): ${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    cwd,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    signal(sig) {
      if (running()) child.kill(sig);
    },
    async waitFor(cond, timeoutMs, what) {
      const until = performance.now() + timeoutMs;
      for (;;) {
        const v = await cond();
        if (v) return v as Truthy<Awaited<typeof v>>;
        if (!running()) {
          const r = await exited;
          assert.fail(`the run exited (${r.code ?? r.signal}) before ${what}: ${r.stderr}`);
        }
        if (performance.now() >= until) {
          child.kill('SIGINT');
          const stuck = setTimeout(() => child.kill('SIGKILL'), 60_000);
          await exited;
          clearTimeout(stuck);
          assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
  };
}

/** Runs `halfopen <args>` to its end, without blocking this process (other tests go on). */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).exited;
}

/** Asserts what a user sees on a failure: exit `code`, one line on stderr, no stack trace. */
export function assertOneLine(r: CliResult, code: number, re: RegExp): void {
  assert.equal(r.code, code, `exit code: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
}
