/**
 * The reference: every generated file by its path in the repository, rendered in memory from the
 * code. `npm run docs` writes them (write.ts); test/docs-reference.test.ts compares them with the
 * committed files.
 */
import { cliReference } from './cli-doc.js';
import { exitCodesReference } from './exit-doc.js';
import { faultsReference } from './faults-doc.js';
import { document, item, wrap } from './markdown.js';
import { resultsReference } from './results-doc.js';
import { referenceSchemaText, scenarioReference, schemaText } from './scenario-doc.js';
import { strategiesReference } from './strategies-doc.js';

/** The Markdown pages, with what each holds, in the order the index lists them. */
const PAGES: readonly { file: string; what: string; render: () => string }[] = [
  { file: 'cli.md', what: "every command's `--help`", render: cliReference },
  {
    file: 'faults.md',
    what: 'the faults: parameters, testbeds, and their predicted windows for two example clients',
    render: faultsReference,
  },
  {
    file: 'strategies.md',
    what: 'the strategies: keys, defaults, targets, and their windows on a silent path',
    render: strategiesReference,
  },
  {
    file: 'scenario.md',
    what: "the scenario file's fields (and scenario.schema.json, its JSON Schema)",
    render: scenarioReference,
  },
  {
    file: 'results.md',
    what: 'the fields of result.json and summary.json',
    render: resultsReference,
  },
  {
    file: 'exit-codes.md',
    what: 'the exit codes, and the JSON a failure prints',
    render: exitCodesReference,
  },
];

function indexPage(): string {
  return document([
    '# halfopen reference',
    wrap(
      'Generated from the code by `npm run docs`; a test (test/docs-reference.test.ts) fails when these files differ from what the code generates. The guides (docs/index.md) say how to use the lab and what it measured; these pages are the lookup tables.',
    ),
    PAGES.map((p) => item(`[${p.file}](${p.file}): ${p.what}`)).join('\n'),
  ]);
}

/** Every generated file: its path from the repository's root, and its content. */
export function referenceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('docs/reference/index.md', indexPage());
  for (const p of PAGES) files.set(`docs/reference/${p.file}`, p.render());
  files.set('docs/reference/scenario.schema.json', referenceSchemaText());
  // The copy editors point at (`# yaml-language-server: $schema=./scenario.schema.json`).
  files.set('scenario.schema.json', schemaText());
  return files;
}
