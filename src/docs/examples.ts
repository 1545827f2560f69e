/**
 * Examples with real output, regenerated rather than pasted: `npm run docs:examples` finds each
 * block marked `<!-- example -->` in the README and docs/, runs its `$ halfopen ...` lines with the
 * built CLI and writes what they printed under them. Markers may carry options:
 *   head=N, tail=N  keep the first or last N lines of each command's output
 *   exit=N          the exit code the example shows (default 0): another one fails the block
 * Commands are split as a POSIX shell would (quotes, '\'' escapes) and run without a shell, in a
 * scratch directory where dist/, examples/, scenarios/ and test/ of this checkout are visible, so
 * relative paths work and run directories land there, not in the checkout.
 */
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { split } from 'shlex';

export interface ExampleOptions {
  head?: number;
  tail?: number;
  exit: number;
}

export interface Example {
  /** 1-based line of the marker. */
  line: number;
  options: ExampleOptions;
  commands: string[];
  /** Lines of the file the block's body spans: [first, end) (0-based, inside the fences). */
  body: [number, number];
}

const MARKER = /^<!-- example((?:\s+\w+=\S+)*)\s*-->$/;
const FENCE = /^```/;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const VISIBLE = ['dist', 'examples', 'scenarios', 'test', 'node_modules', 'package.json'];
const TIMEOUT_MS = 600_000;

function parseOptions(text: string, where: string): ExampleOptions {
  const options: ExampleOptions = { exit: 0 };
  for (const pair of text.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = pair.split('=');
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${where}: ${pair}: not a whole number`);
    if (key === 'head' || key === 'tail' || key === 'exit') options[key] = n;
    else throw new Error(`${where}: unknown option ${key} (head, tail, exit)`);
  }
  return options;
}

/** The examples of a Markdown text; throws, naming the line, on a malformed one. */
export function findExamples(text: string, file = 'text'): Example[] {
  const lines = text.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!.trim());
    if (!m) continue;
    const where = `${file}:${i + 1}`;
    // Prettier puts a blank line between the marker and the fence.
    let open = i + 1;
    while (lines[open]?.trim() === '') open++;
    if (!FENCE.test(lines[open] ?? ''))
      throw new Error(`${where}: the marker must be followed by a fence`);
    let close = open + 1;
    while (close < lines.length && !FENCE.test(lines[close]!)) close++;
    if (close >= lines.length) throw new Error(`${where}: the example's fence is not closed`);
    const body = lines.slice(open + 1, close);
    if (!body[0]?.startsWith('$ halfopen '))
      throw new Error(`${where}: an example starts with a "$ halfopen ..." line`);
    out.push({
      line: i + 1,
      options: parseOptions(m[1] ?? '', where),
      commands: body.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2)),
      body: [open + 1, close],
    });
    i = close;
  }
  return out;
}

/** The Markdown files that hold examples: the README and docs/, not the generated reference. */
export function docFiles(root = ROOT): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory() && rel !== join('docs', 'reference')) walk(rel);
      else if (e.isFile() && e.name.endsWith('.md')) files.push(rel);
    }
  };
  walk('docs');
  return files;
}

/** Runs one command line as the example shows it; resolves with its output and exit code. */
function runCommand(line: string, cwd: string): Promise<{ output: string[]; code: number }> {
  const [program, ...args] = split(line);
  if (program !== 'halfopen') throw new Error(`only halfopen commands run here: ${line}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        output: text.replace(/\n$/, '').split('\n'),
        code: code ?? 128 + (signal ? 2 : 0),
      });
    });
  });
}

const trim = (lines: string[], o: ExampleOptions): string[] =>
  o.head !== undefined
    ? lines.slice(0, o.head)
    : o.tail !== undefined
      ? lines.slice(-o.tail)
      : lines;

/** Runs an example's commands and returns the block's new body, or throws on a wrong exit. */
export async function regenerate(ex: Example, cwd: string, where: string): Promise<string[]> {
  const body: string[] = [];
  for (const command of ex.commands) {
    const { output, code } = await runCommand(command, cwd);
    if (code !== ex.options.exit)
      throw new Error(
        `${where}: exit ${code}, the example says ${ex.options.exit}: ${output.slice(-3).join(' | ')}`,
      );
    body.push(`$ ${command}`, ...trim(output, ex.options));
  }
  return body;
}

/** A scratch directory that sees the checkout's build, examples and scenarios. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'halfopen-examples-'));
  for (const name of VISIBLE) symlinkSync(join(ROOT, name), join(dir, name));
  return dir;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(
      'usage: npm run docs:examples -- [--list] [--match <text>] [file.md ...]\n' +
        'Runs each <!-- example --> block of the README and docs/ and writes its real output.\n',
    );
    return 0;
  }
  let list = false;
  let match: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list') list = true;
    else if (a === '--match') match = argv[++i];
    else if (a.startsWith('--')) throw new Error(`unknown option ${a} (--list, --match)`);
    else files.push(a);
  }
  const chosen = (files.length > 0 ? files : docFiles()).map((f) => relative(ROOT, join(ROOT, f)));
  const work: { file: string; ex: Example }[] = [];
  for (const file of chosen)
    for (const ex of findExamples(readFileSync(join(ROOT, file), 'utf8'), file))
      if (match === undefined || ex.commands.some((c) => c.includes(match)))
        work.push({ file, ex });
  if (list) {
    for (const { file, ex } of work)
      process.stdout.write(`${file}:${ex.line}  ${ex.commands.join(' && ')}\n`);
    return 0;
  }
  const dir = scratch();
  const stop = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  let failed = 0;
  try {
    for (const [n, { file, ex }] of work.entries()) {
      const where = `${file}:${ex.line}`;
      const started = performance.now();
      process.stderr.write(`[${n + 1}/${work.length}] ${where} ${ex.commands[0]!.slice(0, 80)}\n`);
      try {
        const body = await regenerate(ex, dir, where);
        // Read again: an earlier block of the same file may have changed its length.
        const path = join(ROOT, file);
        const lines = readFileSync(path, 'utf8').split('\n');
        const now = findExamples(lines.join('\n'), file).find(
          (e) => e.commands.join() === ex.commands.join(),
        );
        if (!now) throw new Error(`${where}: the example changed while it ran`);
        lines.splice(now.body[0], now.body[1] - now.body[0], ...body);
        writeFileSync(path, lines.join('\n'));
        process.stderr.write(
          `      done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
      } catch (err) {
        failed += 1;
        process.stderr.write(`      FAILED: ${(err as Error).message}\n`);
      }
    }
  } finally {
    stop();
  }
  process.stderr.write(`${work.length - failed} of ${work.length} examples regenerated\n`);
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`docs:examples: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
