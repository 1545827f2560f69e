/**
 * Every relative link of the README and docs/ leads somewhere: the file exists, and an anchor
 * names one of its headings (as GitHub makes them: lowercase, punctuation dropped, spaces as
 * hyphens, a repeated heading numbered -1, -2, ...). Also the width rules the docs keep: prose
 * lines at most 100 columns and table rows at most 120, outside code blocks and generated pages.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { docFiles } from '../src/docs/examples.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** GitHub's anchor for a heading's text. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** A Markdown file's lines outside fenced code blocks, with their numbers. */
function prose(text: string): { n: number; line: string }[] {
  let fenced = false;
  const out: { n: number; line: string }[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push({ n: i + 1, line });
  });
  return out;
}

function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of prose(text)) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const files = (): string[] => docFiles(ROOT);

describe('docs links', () => {
  it('slugs as GitHub makes them', () => {
    assert.equal(slug('Settings as code: `tune --emit`'), 'settings-as-code-tune---emit');
    assert.equal(slug('Your own server (any language)'), 'your-own-server-any-language');
  });

  it('every relative link of the README and docs/ resolves, anchors included', () => {
    const broken: string[] = [];
    for (const file of files()) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const { n, line } of prose(text))
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!;
          if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
          const [path, anchor] = target.split('#') as [string, string | undefined];
          const dest = path === '' ? file : normalize(join(dirname(file), path));
          if (!existsSync(join(ROOT, dest))) {
            broken.push(`${file}:${n}: ${target} (no ${dest})`);
            continue;
          }
          if (anchor && dest.endsWith('.md')) {
            const known = anchors(readFileSync(join(ROOT, dest), 'utf8'));
            if (!known.has(anchor)) broken.push(`${file}:${n}: ${target} (no heading #${anchor})`);
          }
        }
    }
    assert.deepEqual(broken, []);
  });

  it('prose fits 100 columns and tables 120, outside code blocks', () => {
    const wide: string[] = [];
    for (const file of files()) {
      if (file === 'README.md' || file.startsWith('docs/')) {
        for (const { n, line } of prose(readFileSync(join(ROOT, file), 'utf8'))) {
          const limit = line.trimStart().startsWith('|') ? 120 : 100;
          if ([...line].length > limit) wide.push(`${file}:${n}: ${[...line].length} columns`);
        }
      }
    }
    assert.deepEqual(wide, []);
  });
});
