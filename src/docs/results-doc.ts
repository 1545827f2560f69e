/**
 * docs/reference/results.md: the fields of result.json and summary.json, from their described
 * tables (src/runner/result-fields.ts, src/report/summary.ts).
 */
import { textOf, type FieldDocsOf } from '../report/field-docs.js';
import { SUMMARY_FIELDS, SUMMARY_SCHEMA } from '../report/summary.js';
import { RESULT_FIELDS } from '../runner/result-fields.js';
import { code, document, item, wrap } from './markdown.js';

/**
 * Each field as a list item, the fields of its objects nested below it; fields shared by several
 * (the statistics `{p50, p95, max}`) are listed the first time only.
 */
function fieldList(docs: FieldDocsOf, depth = 0, seen = new Set<FieldDocsOf>()): string[] {
  return Object.entries(docs).flatMap(([key, doc]) => {
    if (typeof doc === 'string') return [item(`${code(key)}: ${doc}`, depth)];
    if (seen.has(doc.fields))
      return [item(`${code(key)}: ${textOf(doc)} (its fields as above)`, depth)];
    seen.add(doc.fields);
    return [item(`${code(key)}: ${textOf(doc)}`, depth), ...fieldList(doc.fields, depth + 1, seen)];
  });
}

export function resultsReference(): string {
  return document([
    '# Results: result.json and summary.json',
    wrap(
      '`halfopen run` writes timeline.jsonl and result.json into its `--out` directory (default `halfopen-runs/<run-id>/`); `--json` prints the same object on stdout, with `timeline_path`. `halfopen matrix` and `halfopen demo` write one such directory per experiment, and summary.json, report.html beside them. Times are in milliseconds; `T0` is the instant the fault was put on the wire.',
    ),
    '## result.json',
    fieldList(RESULT_FIELDS).join('\n'),
    '## summary.json',
    wrap(
      `A matrix's results for machines, \`"schema": "${SUMMARY_SCHEMA}"\`: fields are only ever added within a version.`,
    ),
    fieldList(SUMMARY_FIELDS).join('\n'),
  ]);
}
