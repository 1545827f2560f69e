/** The parts of `halfopen run --help` that come from the definitions: strategies and faults. */
import { FAULT_DEFS } from '../faults/index.js';
import { PROTOCOLS } from '../protocols/index.js';
import { FAULTS, TARGETS, TESTBEDS } from '../scenario/spec.js';
import { STRATEGIES } from '../strategies/index.js';

const faultWidth = Math.max(...FAULTS.map((f) => f.length));
/** Words of `text` in lines of at most `width`, every line after the first indented by `indent`. */
function wrap(text: string, indent: number, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

export const faultHelp = FAULTS.map((f) => {
  const def = FAULT_DEFS[f];
  const where = TESTBEDS.filter((t) => def.testbeds[t] !== undefined).join(', ');
  return `  ${f.padEnd(faultWidth)}  ${wrap(`${def.summary} [${where}]`, faultWidth + 4)}`;
}).join('\n');

/** Each target's strategies, as their definitions write and explain them. */
export const strategyHelp = TARGETS.map((t) => {
  const p = PROTOCOLS[t];
  const lines = p.strategies.map((k) => {
    const { usage, help } = STRATEGIES[k];
    const text = wrap(help, 41);
    return usage.length > 37
      ? `  ${usage}\n${' '.repeat(41)}${text}`
      : `  ${usage.padEnd(39)}${text}`;
  });
  return [`  (target ${t}; default ${p.defaultStrategy})`, ...lines].join('\n');
}).join('\n');
