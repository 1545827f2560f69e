/**
 * The HTML report's first screen as a user meets it: a real matrix on the proxy testbed (no root),
 * its report opened in headless Chromium at desktop and phone width: nothing fetched, no console
 * errors, the banner's numbers equal to what summary.json says, every heatmap square coloured by
 * its verdict, no page-wide horizontal scroll at 390 px, charts drawn. REPORT_SCREENSHOTS=<dir>
 * saves a screenshot at each width. The same screen as data: test/report-data.test.ts.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import type { Verdict } from '../src/advise/predict.js';
import { VERDICT_STYLE, verdictClass, worstOf } from '../src/report/verdicts.js';
import { formatMs } from '../src/util/duration.js';
import { runCli } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

interface SummaryCell {
  target: string;
  strategy: string;
  qos: 0 | 1 | null;
  workload: string;
  fault_label: string;
  runs: number;
  verdicts: Partial<Record<Verdict, number>>;
  errors: string[];
}
interface Summary {
  cells: SummaryCell[];
  expect_missed: number;
  experiments: { result?: { lost: number; detect_ms: number | null }; error?: string }[];
}

const work = mkdtempSync(join(tmpdir(), 'halfopen-report-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe(
  'a real matrix report in a headless browser',
  { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM} (apt-get install chromium)` },
  () => {
    const out = join(work, 'run');
    // Proxy testbed: no root. A client that notices the blackhole and one that never can, so
    // the banner has misses and losses to count.
    const scenario = [
      'name: report check',
      'clients:',
      '  - target: tcp',
      '    strategies: [none, "heartbeat:interval=1s,timeout=2s"]',
      'workloads: [publish:10]',
      'faults: [kill, { fault: partition, heal: 3s }, proxy-dead-upstream]',
      'testbeds: [proxy]',
      'deadline: 5s',
    ].join('\n');

    async function open(page: Page): Promise<{ outside: string[]; errors: string[] }> {
      const outside: string[] = [];
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      // Anything but the file itself is refused, and counted.
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url === `file://${join(out, 'report.html')}`) return route.continue();
        outside.push(url);
        return route.abort();
      });
      await page.goto(`file://${join(out, 'report.html')}`);
      return { outside, errors };
    }

    it('the first screen says what the summary says, coloured by verdict, desktop and phone', async () => {
      const r = await runCli(
        ['matrix', 's.yaml', '--parallel', '4', '--out', out, '--expect', 'lost=0'],
        {
          files: { 's.yaml': scenario },
        },
      );
      // Exit 3: a cell missed the expectation (the blackholed clients lose messages).
      assert.equal(r.code, 3, r.stderr);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
      // The banner's numbers, computed here from summary.json.
      const missed = ['not detected', 'beyond deadline', 'not detected (as predicted)'];
      const has = (c: SummaryCell, vs: string[]): boolean =>
        vs.some((v) => (c.verdicts[v as Verdict] ?? 0) > 0);
      const results = summary.experiments.flatMap((e) => (e.result ? [e.result] : []));
      const detects = results.flatMap((x) => (x.detect_ms === null ? [] : [x.detect_ms]));
      const expected = {
        undetected: String(summary.cells.filter((c) => has(c, missed)).length),
        late: String(summary.cells.filter((c) => has(c, ['late'])).length),
        lost: String(results.reduce((n, x) => n + x.lost, 0)),
        slowest: formatMs(Math.max(...detects)),
        failed: String(summary.experiments.filter((e) => e.error !== undefined).length),
        'not-in-force': String(summary.cells.filter((c) => has(c, ['fault not in force'])).length),
        'expect-missed': String(summary.expect_missed),
      };
      // This matrix has something to report: the none client never sees a blackhole.
      assert.ok(Number(expected.undetected) >= 1 && Number(expected.lost) >= 1, r.stdout);

      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        for (const [width, height, name] of [
          [1280, 900, 'desktop'],
          [390, 844, 'phone'],
        ] as const) {
          const page = await browser.newPage({ viewport: { width, height } });
          const { outside, errors } = await open(page);
          assert.deepEqual(outside, [], `${name}: the report asks for nothing outside itself`);
          assert.deepEqual(errors, [], `${name}: no console errors`);

          for (const [key, value] of Object.entries(expected))
            assert.equal(
              await page.locator(`.banner [data-k="${key}"] .n`).textContent(),
              value,
              `${name}: banner ${key}`,
            );
          const banner = (await page.locator('.banner').boundingBox())!;
          assert.ok(banner.y < height / 2, `${name}: the banner starts on the first screen`);
          assert.ok(banner.x >= 0 && banner.x + banner.width <= width, `${name}: banner fits`);
          assert.match(
            (await page.locator('.banner .headline').textContent()) ?? '',
            new RegExp(
              `^${expected['expect-missed']} cells? missed an expectation; ${expected.undetected} cells? never noticed the failure; .*${expected.lost} messages lost`,
            ),
          );

          // Every cell one square, coloured by its worst verdict (the colour map's background).
          assert.equal(await page.locator('td.hm[data-verdict]').count(), summary.cells.length);
          for (const c of summary.cells) {
            const client = `${c.target} ${c.strategy}${c.qos === null ? '' : ` QoS ${c.qos}`}`;
            const worst = worstOf([
              ...(Object.keys(c.verdicts) as Verdict[]),
              ...(c.errors.length ? ['error' as const] : []),
            ])!;
            const square = page.locator(
              `td.hm[data-client="${client}"][data-workload="${c.workload}"][data-fault="${c.fault_label}"]`,
            );
            assert.equal(
              await square.getAttribute('data-verdict'),
              worst,
              `${client} ${c.fault_label}`,
            );
            assert.match(
              (await square.getAttribute('class')) ?? '',
              new RegExp(verdictClass(worst)),
            );
            const bg = await square.evaluate((e) => getComputedStyle(e).backgroundColor);
            assert.equal(
              bg,
              rgb(VERDICT_STYLE[worst].background),
              `${client} ${c.fault_label} colour`,
            );
            assert.match((await square.textContent()) ?? '', new RegExp(escapeRe(worst)));
          }
          // The table's verdicts are coloured chips too, one row per cell.
          assert.equal(
            await page.locator('table.results tbody tr td.v .chip[data-verdict]').count(),
            summary.cells.length,
          );

          // Charts: a detection and a loss chart per client, drawn.
          const figures = page.locator('figure svg');
          assert.equal(await figures.count(), 4);
          assert.ok((await figures.first().locator('path').count()) > 10, 'the chart draws');

          const wide = await page.evaluate(() => ({
            body: document.body.scrollWidth,
            doc: document.documentElement.scrollWidth,
            viewport: window.innerWidth,
          }));
          assert.ok(
            wide.body <= wide.viewport && wide.doc <= wide.viewport,
            `${name}: the page does not scroll sideways (${JSON.stringify(wide)})`,
          );
          const box = (await page.locator('.heatmap-box').boundingBox())!;
          assert.ok(box.x + box.width <= width, `${name}: the heatmap scrolls inside its own box`);
          const shots = process.env.REPORT_SCREENSHOTS;
          if (shots) await page.screenshot({ path: join(shots, `report-${name}.png`) });
          await page.close();
        }
      } finally {
        await browser.close();
      }
    });
  },
);

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** '#b2182b' as the browser's computed 'rgb(178, 24, 43)'. */
function rgb(hex: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(hex);
  if (!m) return 'rgba(0, 0, 0, 0)'; // a gradient: the colour is in background-image
  return `rgb(${[m[1], m[2], m[3]].map((x) => parseInt(x!, 16)).join(', ')})`;
}
