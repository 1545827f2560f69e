/** docs/reference/exit-codes.md: `EXIT` and its meanings (src/errors.ts), and how errors map to them. */
import { jsonError } from '../cli/strict.js';
import {
  BadInputError,
  EXIT,
  EXIT_MEANINGS,
  exitCodeFor,
  InterruptedError,
  LabError,
  LabUnavailableError,
} from '../errors.js';
import { code, document, item, table, wrap } from './markdown.js';

/** One error of each kind, as commands throw them. */
const ERRORS: [string, Error][] = [
  ['BadInputError', new BadInputError("--deadline '25h' must be from 100ms to 24h")],
  ['LabUnavailableError', new LabUnavailableError('not root')],
  ['InterruptedError', new InterruptedError('SIGINT')],
  ['LabError', new LabError('the lab failed')],
];

export function exitCodesReference(): string {
  const codes = Object.entries(EXIT) as [keyof typeof EXIT, number][];
  const kinds = ERRORS.map(([name, err]) => {
    const exit = exitCodeFor(err);
    const { error } = JSON.parse(jsonError(err, exit)) as { error: { kind: string } };
    return [code(name), String(exit), code(error.kind)];
  });
  const example = ERRORS[0]![1];
  return document([
    '# Exit codes',
    wrap(
      'Every command exits with one of these (`EXIT` in src/errors.ts), so that a pipeline can tell what happened:',
    ),
    codes
      .map(([name, n]) => item(`${code(String(n))} (${code(name)}): ${EXIT_MEANINGS[name]}`))
      .join('\n'),
    wrap(
      'A command that fails prints one line on stderr, `halfopen: <message>`. With `--json` it also prints one JSON object on stdout, e.g.:',
    ),
    `\`\`\`json\n${jsonError(example, exitCodeFor(example)).trim()}\n\`\`\``,
    wrap("The error's class decides the code and the `kind`:"),
    table(['error', 'exit code', 'kind'], kinds),
  ]);
}
