/**
 * The shape of the code, checked: a fault, target or strategy kind is known only to its own
 * definition (nothing else compares its name), no source file grows past ~400 lines, and no
 * module imports itself back through others (type-only imports included).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { FAULTS } from '../src/faults/index.js';
import { PROTOCOLS, TARGETS } from '../src/protocols/index.js';
import { STRATEGY_KINDS } from '../src/strategies/index.js';

// dist/test/structure.test.js -> the repository's src/
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const files = sources(SRC).map((path) => ({
  path,
  rel: relative(SRC, path),
  text: readFileSync(path, 'utf8'),
}));

/** Where each name may be compared: the files of its own definition. */
function owners(): Map<string, string[]> {
  const own = new Map<string, string[]>();
  const add = (name: string, where: string): void => {
    own.set(name, [...(own.get(name) ?? []), where]);
  };
  for (const f of FAULTS) add(f, `faults/${f}.ts`);
  for (const k of STRATEGY_KINDS) add(k, `strategies/${k}.ts`);
  // A protocol's folder is its definition, and its client speaks its own strategies.
  for (const t of TARGETS) {
    add(t, `protocols/${t}/`);
    for (const k of PROTOCOLS[t].strategies) add(k, `protocols/${t}/`);
  }
  return own;
}

/**
 * The same words with another meaning, each with why: these are not the fault, target or
 * strategy of that name.
 */
const OTHER_MEANINGS: { file: string; pattern: RegExp; why: string }[] = [
  {
    file: 'faults/idle-timeout.ts',
    pattern: /onExpiry === 'reset'|on_expiry === 'reset'/,
    why: "a middlebox's answer to a forgotten flow (EXPIRY_ACTIONS), not the reset fault",
  },
  {
    file: 'proxy/api.ts',
    pattern: /root === 'reset'/,
    why: "the fault proxy's HTTP API route /reset (Toxiproxy's), not the reset fault",
  },
];

describe('the shape of the code', () => {
  it('no fault, target or strategy-kind name is compared outside its own definition', () => {
    const own = owners();
    const found: string[] = [];
    for (const [name, places] of own) {
      const q = name.replace(/[-]/g, '\\-');
      const compared = new RegExp(
        `(?:[!=]==\\s*'${q}'|'${q}'\\s*[!=]==|case\\s+'${q}'\\s*:|\\.includes\\(\\s*'${q}'\\s*\\))`,
      );
      for (const f of files) {
        if (places.some((p) => f.rel === p || (p.endsWith('/') && f.rel.startsWith(p)))) continue;
        f.text.split('\n').forEach((line, i) => {
          if (!compared.test(line)) return;
          if (OTHER_MEANINGS.some((o) => o.file === f.rel && o.pattern.test(line))) return;
          found.push(`src/${f.rel}:${i + 1}: '${name}' in: ${line.trim()}`);
        });
      }
    }
    assert.deepEqual(found, [], `ask the definition instead:\n${found.join('\n')}`);
  });

  it('the name check finds a comparison where there is one', () => {
    // A check that cannot fail is no check: the pattern must match what it is meant to catch.
    const q = 'partition';
    const compared = new RegExp(`(?:[!=]==\\s*'${q}'|case\\s+'${q}'\\s*:)`);
    assert.ok(compared.test("if (spec.fault === 'partition') return;"));
    assert.ok(compared.test("    case 'partition':"));
    assert.ok(!compared.test("const tag = 'partition';"));
  });

  it('no source file is longer than about 400 lines', () => {
    const long = files
      .map((f) => ({ rel: f.rel, lines: f.text.split('\n').length }))
      .filter((f) => f.lines > 420)
      .map((f) => `src/${f.rel}: ${f.lines} lines`);
    assert.deepEqual(long, [], `split these:\n${long.join('\n')}`);
  });

  it('no import cycles, type-only imports included', () => {
    const graph = new Map<string, string[]>();
    const spec = /(?:import|export)\s[^'"]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
    for (const f of files) {
      const deps: string[] = [];
      for (const m of f.text.matchAll(spec)) {
        const target = resolve(dirname(f.path), (m[1] ?? m[2])!).replace(/\.js$/, '.ts');
        deps.push(relative(SRC, target));
      }
      graph.set(f.rel, deps);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const dep of graph.get(node) ?? []) visit(dep, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
  });
});
