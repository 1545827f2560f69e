/**
 * The emitted code of the JavaScript libraries, run as it is printed: `halfopen tune --emit
 * nats.js|mqtt.js|ws|grpc-js|node:net` put into a small publisher (test/fixtures/emit/*.mjs.tmpl, in place of the
 * `// EMITTED` line), run as your own client (`--client-cmd 'node <file>'`) through a partition
 * and a node loss on the netns testbed, and judged against the window `tune` stated (pinned here).
 * The lab's own clients make the same calls; this checks the printed code itself.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { netnsSkip, runCli } from './helpers.js';

/** dist/, inside the repository: the client's imports resolve from the repository's node_modules. */
const dist = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(dist, 'emit-js-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Case {
  library: string;
  target: string;
  template: string;
  within: string;
  /** The setting tune picks for that target, and its window: pinned. */
  strategy: string;
  window: [number, number];
  detectLog: string;
}

const CASES: Case[] = [
  {
    library: 'nats.js',
    target: 'nats',
    template: 'nats_js_client.mjs.tmpl',
    within: '6s',
    strategy: 'nats:ping=3s,maxout=1,wait=2s,attempts=-1',
    window: [3000, 6000],
    detectLog: 'disconnected',
  },
  {
    library: 'mqtt.js',
    target: 'mqtt',
    template: 'mqtt_js_client.mjs.tmpl',
    within: '6s',
    strategy: 'mqtt:keepalive=4s,reconnect=1s',
    window: [2000, 6000],
    detectLog: 'offline',
  },
  {
    library: 'ws',
    target: 'ws',
    template: 'ws_client.mjs.tmpl',
    within: '4s',
    strategy: 'ws:ping=3s,timeout=1s,side=client',
    window: [1000, 4000],
    detectLog: 'closed',
  },
  {
    library: 'grpc-js',
    target: 'grpc',
    template: 'grpc_js_client.mjs.tmpl',
    within: '6s',
    strategy: 'grpc:time=5s,timeout=1s,without-calls=true',
    window: [1000, 6000],
    detectLog: 'ended',
  },
  {
    library: 'node:net',
    target: 'tcp',
    template: 'node_net_client.mjs.tmpl',
    within: '6s',
    strategy: 'user-timeout:5300ms',
    window: [5300, 5930],
    detectLog: 'closed',
  },
];

/** `tune --emit <library> --json`, its code put into the template, written to a file. */
async function build(c: Case, name: string): Promise<string> {
  const r = await runCli([
    'tune',
    '--target',
    c.target,
    '--within',
    c.within,
    '--workload',
    'publish:5',
    '--emit',
    c.library,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [e] = r.json<{
    emit: { strategy: string; predicted_ms: [number, number]; code: string }[];
  }>().emit;
  assert.ok(e, `a setting to emit: ${r.stdout}`);
  assert.equal(e.strategy, c.strategy);
  assert.deepEqual(e.predicted_ms, c.window);
  const text = readFileSync(
    fileURLToPath(new URL(`../../test/fixtures/emit/${c.template}`, import.meta.url)),
    'utf8',
  );
  assert.ok(text.includes('\n// EMITTED\n'), `${c.template} has the line the code replaces`);
  const file = join(work, `${name}-${c.template.replace(/\.tmpl$/, '')}`);
  writeFileSync(file, text.replace('\n// EMITTED\n', `\n${e.code}\n`));
  return file;
}

describe(
  'the emitted JavaScript, run as printed: inside the window tune stated',
  { skip: netnsSkip, concurrency: 3 },
  () => {
    for (const c of CASES)
      for (const fault of ['partition', 'node-loss'])
        it(`${c.library}, ${fault}: ${c.strategy} inside (${c.window[0]} ms, ${c.window[1]} ms]`, async () => {
          const file = await build(c, fault);
          const r = await runCli([
            'run',
            '--target',
            c.target,
            '--client-cmd',
            `node ${file}`,
            '--detect-log',
            c.detectLog,
            '--strategy',
            c.strategy,
            '--workload',
            'publish:5',
            '--fault',
            fault,
            '--deadline',
            '10s',
            '--json',
          ]);
          assert.equal(r.code, 0, r.stderr);
          const res = r.json<{
            verdict: string;
            predicted_ms: [number, number];
            sent: number | null;
          }>();
          const what = JSON.stringify({ ...res, timeline: undefined, events: undefined });
          assert.deepEqual(res.predicted_ms, c.window, what);
          assert.equal(res.verdict, 'inside', what);
          assert.ok((res.sent ?? 0) > 5, `it printed "sent <seq>": ${what}`);
        });
  },
);
