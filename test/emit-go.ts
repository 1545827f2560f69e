/**
 * For the emitter tests: `halfopen tune ... --emit <go library> --json`, its code put into a Go
 * client template (test/fixtures/emit/) in place of the `// EMITTED` line, and built offline in
 * GOPATH mode against Debian's packaged Go sources (/usr/share/gocode: nats.go, x/sys).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers.js';

export const GOPATH = '/usr/share/gocode';

/** A reason to skip unless `go` and these packages' sources (under GOPATH/src) are here. */
export function goSkip(...packages: string[]): string | false {
  return spawnSync('go', ['version']).status === 0 &&
    packages.every((p) => existsSync(join(GOPATH, 'src', p)))
    ? false
    : `needs go and ${packages.join(', ')} (scripts/setup.sh --test installs them)`;
}

export interface BuiltClient {
  dir: string;
  binary: string;
  /** The setting the code stands for, as `--strategy` takes it. */
  strategy: string;
  predicted_ms: [number, number] | null;
}

/** Runs `tune <args> --json`, and builds its first emitted setting into `template`. */
export async function emitAndBuild(
  args: readonly string[],
  template: string,
): Promise<BuiltClient> {
  const r = await runCli(['tune', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [e] = r.json<{
    emit: { strategy: string; predicted_ms: [number, number] | null; code: string }[];
  }>().emit;
  assert.ok(e, `a setting to emit: ${r.stdout}`);
  const dir = mkdtempSync(join(tmpdir(), 'halfopen-emit-go-'));
  const text = readFileSync(
    fileURLToPath(new URL(`../../test/fixtures/emit/${template}`, import.meta.url)),
    'utf8',
  );
  assert.ok(text.includes('\t// EMITTED\n'), `${template} has the line the code replaces`);
  const code = e.code
    .split('\n')
    .map((l) => `\t${l}`)
    .join('\n');
  writeFileSync(join(dir, 'main.go'), text.replace('\t// EMITTED', code));
  const binary = join(dir, 'client');
  // GOPATH mode: nothing is downloaded; the build cache is the test's own.
  const build = spawnSync('go', ['build', '-o', binary, 'main.go'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(dir, 'cache'), GOFLAGS: '' },
  });
  assert.equal(build.status, 0, `go build: ${build.stderr}`);
  return { dir, binary, strategy: e.strategy, predicted_ms: e.predicted_ms };
}

export interface OwnRun {
  verdict: string;
  detect_ms: number | null;
  predicted_ms: [number, number] | null;
  sent: number | null;
}

/** `halfopen run --client-cmd <binary> ... --json`: the result, and a line describing it. */
export async function runOwn(
  c: BuiltClient,
  args: readonly string[],
): Promise<{ res: OwnRun; what: string }> {
  const r = await runCli([
    'run',
    '--client-cmd',
    c.binary,
    '--strategy',
    c.strategy,
    ...args,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const res = r.json<OwnRun & { timeline?: unknown; events?: unknown }>();
  const what = JSON.stringify({ ...res, timeline: undefined, events: undefined });
  return { res, what };
}
