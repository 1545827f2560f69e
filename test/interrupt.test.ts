/**
 * Interrupting runs at random moments leaves nothing behind: no namespace, no temp directory, no
 * process. Two ways in: `runExperiment` aborted through its signal (many times, two at a time as
 * a matrix runs them), and the real CLI sent SIGINT to its whole process group during a
 * `matrix --parallel 2`, as a terminal's Ctrl-C is. The moments come from a seeded generator:
 * the seed is printed, and HALFOPEN_INTERRUPT_SEED=<seed> replays a failure.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InterruptedError, TeardownError } from '../src/errors.js';
import { runExperiment } from '../src/runner/experiment.js';
import type { ExperimentSpec } from '../src/scenario/spec.js';
import { listLabNamespaces } from '../src/testbeds/netns/cleanup.js';
import { run } from '../src/testbeds/netns/exec.js';
import { CLI, labIds, netnsSkip, specOf } from './helpers.js';

const SEED = Number(process.env.HALFOPEN_INTERRUPT_SEED ?? Date.now() % 2 ** 31);
/** In-process interrupts, and CLI runs interrupted; overridable for a longer hunt. */
const RUNS = Number(process.env.HALFOPEN_INTERRUPT_RUNS ?? 36);
const CLI_RUNS = Number(process.env.HALFOPEN_INTERRUPT_CLI_RUNS ?? 4);

/** mulberry32: small, seedable, good enough to spread moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
/** One generator per part, so that each replays alone (the other part's count set to 0). */
const inProcess = prng(SEED);
const cli = prng(SEED ^ 0x5bd1e995);
const pick = <T>(random: () => number, xs: readonly T[]): T =>
  xs[Math.floor(random() * xs.length)]!;

// Made when the tests start, so a file that fails to load leaves no directory behind.
let work = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'halfopen-interrupt-test-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns nothing left (an empty list), or gives up after `ms`. */
async function settled(check: () => Promise<string[]> | string[], ms = 10_000): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = await check();
    if (left.length === 0 || Date.now() > until) return left;
    await sleep(50);
  }
}

/** Every process on the machine: pid, parent, state and start time (to tell a reused pid). */
function processes(): { pid: number; ppid: number; state: string; start: string }[] {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // comm may hold spaces and parentheses: the fields start after its last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(f[1]), state: f[0]!, start: f[19]! });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** `pid@start` of each live (not zombie) process among `known`. */
function stillAlive(known: Set<string>): string[] {
  return processes()
    .filter((p) => p.state !== 'Z' && known.has(`${p.pid}@${p.start}`))
    .map((p) => `${p.pid}@${p.start}`);
}

/** Remembers every descendant of `root` seen while it runs (reads /proc every `everyMs`). */
function trackDescendants(root: number, everyMs = 40): { seen: Set<string>; stop: () => void } {
  const seen = new Set<string>();
  const scan = (): void => {
    const all = processes();
    const ours = new Set([root]);
    // Parents before children is not guaranteed by pid order: repeat until nothing is added.
    for (let grew = true; grew;) {
      grew = false;
      for (const p of all)
        if (ours.has(p.ppid) && !ours.has(p.pid)) {
          ours.add(p.pid);
          if (p.state !== 'Z') seen.add(`${p.pid}@${p.start}`);
          grew = true;
        }
    }
  };
  const timer = setInterval(scan, everyMs);
  return { seen, stop: () => clearInterval(timer) };
}

/** Names under /run/netns, read directly: polled every 10 ms, `ip netns list` would be heavy. */
function namespaceFiles(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return []; // no namespace was ever made on this machine
  }
}

/** What a run (by its run id prefix) left: namespaces and temp directories. */
async function leftBehind(prefix: string): Promise<string[]> {
  const ns = (await listLabNamespaces()).filter((n) => n.startsWith(`halfopen-${prefix}`));
  const dirs = readdirSync(tmpdir()).filter((n) => n.startsWith(`halfopen-${prefix}`));
  return [...ns, ...dirs.map((d) => join(tmpdir(), d))];
}

/** A process's command line, for messages. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 160);
  } catch {
    return '(gone)';
  }
}

/** Live children of this test process: the lab's processes and tools, nothing else. */
const ourChildren = (): string[] =>
  processes()
    .filter((p) => p.ppid === process.pid && p.state !== 'Z')
    .map((p) => `${p.pid}: ${cmdline(p.pid)}`);

/**
 * Short experiments whose steps are spread over about 2.5 s, so random moments land in every
 * step: building the testbed (with a path proxy, with a middlebox), starting a broker and its
 * sink, warming up, the fault, a heal or a restart in flight, ip-reuse replacing the server's
 * namespace, the watch, collecting and teardown itself.
 */
const quick = { warmupMs: 200, deadlineMs: 2000 };
const SPECS: readonly ExperimentSpec[] = [
  specOf({
    strategy: 'keepalive:idle=1s,interval=1s,count=2',
    workload: 'publish:10',
    fault: 'partition',
    ...quick,
    healMs: 600,
  }),
  specOf({
    strategy: 'heartbeat:interval=1s,timeout=2s',
    workload: 'publish:10',
    fault: 'reset',
    ...quick,
  }),
  specOf({ strategy: 'none', workload: 'idle', fault: 'proxy-dead-upstream', ...quick }),
  specOf({
    strategy: 'none',
    workload: 'idle',
    fault: 'idle-timeout',
    ...quick,
    idleTimeout: { ms: 1000, onExpiry: 'reset' },
  }),
  specOf({
    strategy: 'ws:ping=1s,timeout=1s,side=client',
    workload: 'subscribe:10',
    fault: 'kill',
    ...quick,
    target: 'ws',
    restartMs: 300,
  }),
  specOf({
    target: 'nats',
    strategy: 'nats:ping=1s,maxout=2',
    workload: 'publish:10',
    fault: 'kill',
    ...quick,
    restartMs: 300,
  }),
  specOf({
    target: 'mqtt',
    strategy: 'mqtt:keepalive=2s',
    workload: 'subscribe:10',
    fault: 'node-loss',
    ...quick,
    restartMs: 400,
  }),
  specOf({
    target: 'nats',
    strategy: 'nats:ping=1s,maxout=2',
    workload: 'publish:10',
    fault: 'ip-reuse',
    ...quick,
  }),
];

/** Progress lines an abort can be aimed at (a random moment shortly after one). */
const PHASES = ['building testbed', 'starting', 'warming up', 'applying', 'collecting'];

describe("a tool killed by the terminal's Ctrl-C before it ran", () => {
  // A group signal can reach a tool between its fork and its setsid; it then dies before it runs.
  // Here the tool kills itself with SIGINT on its first run, as if that had happened.
  it('is run again, so a teardown step is not lost to it', async () => {
    const flag = join(work, 'ran-once');
    const r = await run([
      'sh',
      '-c',
      'if [ -e "$0" ]; then echo second; else : > "$0"; kill -INT $$; fi',
      flag,
    ]);
    assert.equal(r.stdout.trim(), 'second');
  });

  it('a tool that keeps dying of it fails in the end, naming the signal', async () => {
    await assert.rejects(run(['sh', '-c', 'kill -INT $$']), /failed \(exit signal\)/);
  });

  it("the lab's own SIGKILL (a tool's timeout) is not retried", async () => {
    const count = join(work, 'killed-count');
    await assert.rejects(run(['sh', '-c', 'echo x >> "$0"; kill -KILL $$', count]));
    assert.equal(readFileSync(count, 'utf8'), 'x\n');
  });
});

describe('interrupted at random moments: nothing left', { skip: netnsSkip }, () => {
  it(`runExperiment aborted through its signal, ${RUNS} times, two at a time`, async (t) => {
    t.diagnostic(`seed ${SEED} (replay: HALFOPEN_INTERRUPT_SEED=${SEED})`);
    // Drawn up front, so that the two lanes' timing cannot change which moments are drawn.
    const plan = Array.from({ length: RUNS }, (_, i) => ({
      i,
      spec: pick(inProcess, SPECS),
      // Half at a moment from the start, half aimed shortly after a step begins.
      aim: inProcess() < 0.5 ? null : pick(inProcess, PHASES),
      delayMs: Math.round(inProcess() * 3000),
      nearMs: Math.round(inProcess() * 200),
    }));
    let next = 0;
    const outcomes: string[] = [];
    const lane = async (): Promise<void> => {
      for (let job = plan[next++]; job; job = plan[next++]) {
        const { i, spec: s, aim, delayMs, nearMs } = job;
        const ids = labIds();
        const controller = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const abortIn = (ms: number): void => {
          timer ??= setTimeout(() => controller.abort(), ms);
        };
        if (!aim) abortIn(delayMs);
        const what = `#${i} ${s.target} ${s.fault}, abort ${aim ? `${nearMs} ms after '${aim}'` : `at ${delayMs} ms`} (seed ${SEED})`;
        let outcome: string;
        const started = Date.now();
        try {
          await runExperiment(s, {
            ...ids,
            signal: controller.signal,
            onProgress: (status) => {
              if (aim && status.startsWith(aim)) abortIn(nearMs);
            },
          });
          outcome = 'finished first';
        } catch (err) {
          assert.ok(!(err instanceof TeardownError), `${what}: ${(err as Error).message}`);
          outcome = err instanceof InterruptedError ? 'interrupted' : `failed first`;
        } finally {
          clearTimeout(timer);
        }
        outcomes.push(outcome);
        if (process.env.HALFOPEN_INTERRUPT_VERBOSE)
          t.diagnostic(`${what}: ${outcome} after ${Date.now() - started} ms`);
        assert.deepEqual(await leftBehind(ids.runId), [], `${what}: left behind`);
      }
    };
    await Promise.all([lane(), lane()]);
    // Every lab process and tool is a child of this process (`ip netns exec` becomes the program).
    // Checked once both lanes are done, since either lane's running experiment has children; a
    // leftover's command line names its experiment (client id c<n>, a broker's config directory).
    assert.deepEqual(await settled(ourChildren, 5000), [], `processes left (seed ${SEED})`);
    // With no tool in flight any more, nothing can appear late: a last look for every run of ours.
    assert.deepEqual(await leftBehind(`${process.pid}-`), [], `left behind (seed ${SEED})`);
    const count = (o: string): number => outcomes.filter((x) => x === o).length;
    t.diagnostic(
      `${count('interrupted')} interrupted, ${count('finished first')} finished before the abort, ${count('failed first')} failed before it`,
    );
    assert.ok(count('interrupted') >= RUNS / 3, 'runs were interrupted mid-way');
  });

  it(`the CLI: Ctrl-C (SIGINT to its process group) during matrix --parallel 2, ${CLI_RUNS} times`, async (t) => {
    t.diagnostic(`seed ${SEED} (replay: HALFOPEN_INTERRUPT_SEED=${SEED})`);
    // Several netns experiments per worker, so that one builds while another tears down.
    const file = join(work, 'interrupt.yaml');
    writeFileSync(
      file,
      [
        'name: interrupt',
        'clients:',
        "  - { target: tcp, strategies: [none, 'keepalive:idle=1s,interval=1s,count=2'] }",
        '  - { target: nats }',
        '  - { target: mqtt }',
        'workloads: [publish:10]',
        'faults: [reset, { fault: kill, restart: 300ms }, { fault: partition, heal: 500ms }]',
        'deadline: 2s',
        'warmup: 200ms',
        '',
      ].join('\n'),
    );
    for (let i = 0; i < CLI_RUNS; i++) {
      // Counted from its first namespace (before it, the CLI may not have its handler yet, and
      // nothing exists to leave behind): right as the first testbeds are built, or at any moment
      // of the next seconds, while experiments build, run and tear down side by side.
      const began = Date.now();
      const duringBuild = cli() < 0.5;
      const delayMs = Math.round(cli() * (duringBuild ? 300 : 4000));
      const child = spawn(
        process.execPath,
        [CLI, 'matrix', file, '--parallel', '2', '--out', join(work, `run-${i}`)],
        // Its own process group, which the SIGINT below is sent to, as a terminal does.
        { cwd: work, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
      );
      const pid = child.pid!;
      const what = `CLI run ${i} (pid ${pid}), SIGINT ${delayMs} ms after its first namespace (seed ${SEED})`;
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | string | null>((r) =>
        child.on('exit', (code, signal) => r(code ?? signal)),
      );
      const tracked = trackDescendants(pid);
      try {
        for (let k = 0; k < 3000 && child.exitCode === null; k++) {
          if (namespaceFiles().some((n) => n.startsWith(`halfopen-${pid}-`))) break;
          await sleep(10);
        }
        await sleep(delayMs);
        process.kill(-pid, 'SIGINT');
        const sent = Date.now();
        // Then Ctrl-C again and again, as an impatient user does, until it has exited. The CLI
        // ignores all but the first, but each one may land on a tool teardown has just forked
        // (its own generator: how many it sends must not shift the moments drawn above).
        const again = prng(SEED + i);
        const hammer = (async () => {
          while (child.exitCode === null && child.signalCode === null) {
            await sleep(5 + again() * 20);
            try {
              process.kill(-pid, 'SIGINT');
            } catch {
              return; // the group is gone
            }
          }
        })();
        let timer: NodeJS.Timeout | undefined;
        const code = await Promise.race([
          exited,
          new Promise<string>((r) => (timer = setTimeout(() => r('no exit within 60 s'), 60_000))),
        ]);
        clearTimeout(timer);
        await hammer;
        assert.match(stderr, /interrupted by SIGINT; everything the run created was removed/, what);
        // Exit 130; or, when one of the later SIGINTs lands while node is already exiting (its
        // handlers gone), death by SIGINT, which a shell reports as 130 too.
        assert.ok(code === 130 || code === 'SIGINT', `${what}: exit ${code}: ${stderr}`);
        if (process.env.HALFOPEN_INTERRUPT_VERBOSE)
          t.diagnostic(`${what}: exited ${Date.now() - sent} ms after the SIGINT`);
      } finally {
        tracked.stop();
        if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
      }
      assert.deepEqual(await leftBehind(`${pid}-`), [], `${what}: left behind`);
      const known = tracked.seen;
      assert.deepEqual(await settled(() => stillAlive(known), 5000), [], `${what}: processes`);
      t.diagnostic(`${what}: clean, ${known.size} processes seen, ${Date.now() - began} ms`);
    }
  });
});
