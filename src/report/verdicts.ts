/**
 * The report's one colour map: every verdict (src/advise/predict.ts VERDICTS), and 'error' for an
 * experiment the lab could not run, has a colour, a symbol and its words, so that no verdict is
 * told by colour alone (colour-blind readers get the symbol and the text). The hues go from pale
 * green (as predicted) through yellow and orange (detected, but not when predicted) to dark red
 * (never noticed); the fault that was not in force is hatched grey. The banner, the heatmap, the
 * table and the legend all read this file.
 */
import { VERDICTS, type Verdict } from '../advise/predict.js';

/** A verdict, or 'error': an experiment that ended with a lab failure and so has no verdict. */
export type Shown = Verdict | 'error';

/** How much a reader should worry: the banner's tiles are coloured by this. */
export type Severity = 'ok' | 'info' | 'void' | 'warn' | 'bad' | 'error';

export interface VerdictStyle {
  /** Worst first (0): a heatmap square with several repetitions takes its worst one's colour. */
  rank: number;
  symbol: string;
  background: string;
  color: string;
  severity: Severity;
  /** What it means, for the legend. */
  meaning: string;
}

export const VERDICT_STYLE: Record<Shown, VerdictStyle> = {
  inside: {
    rank: 9,
    symbol: '✓',
    background: '#cdebc8',
    color: '#0b3d0b',
    severity: 'ok',
    meaning: 'detected within the predicted window',
  },
  'measured (no prediction)': {
    rank: 8,
    symbol: '•',
    background: '#dbe4f0',
    color: '#1c2f4a',
    severity: 'info',
    meaning: 'measured; no window to judge it by (your own client without --strategy)',
  },
  'detected (predicted never)': {
    rank: 6,
    symbol: '!',
    background: '#a9cbee',
    color: '#0d2a4a',
    severity: 'warn',
    meaning: 'detected, though the settings predict it never would',
  },
  early: {
    rank: 5,
    symbol: '«',
    background: '#fbe38e',
    color: '#3d3000',
    severity: 'warn',
    meaning: 'detected before the predicted window opened',
  },
  late: {
    rank: 4,
    symbol: '»',
    background: '#f4a259',
    color: '#2e1600',
    severity: 'warn',
    meaning: 'detected after the predicted window closed',
  },
  'fault not in force': {
    rank: 7,
    symbol: '∅',
    background: 'repeating-linear-gradient(135deg,#e4e4e4 0 6px,#c9c9c9 6px 9px)',
    color: '#222',
    severity: 'void',
    meaning: 'messages still crossed the path after the fault: nothing was cut, nothing to detect',
  },
  'not detected (as predicted)': {
    rank: 3,
    symbol: '✗',
    background: '#ef9a8a',
    color: '#2b0000',
    severity: 'bad',
    meaning: 'never noticed the failure, as the settings predict',
  },
  'beyond deadline': {
    rank: 2,
    symbol: '✗',
    background: '#b2182b',
    color: '#fff',
    severity: 'bad',
    meaning: 'not noticed by the deadline; the predicted window opens only after it',
  },
  'not detected': {
    rank: 1,
    symbol: '✗',
    background: '#5c0011',
    color: '#fff',
    severity: 'bad',
    meaning: 'not noticed by the deadline, though the predicted window ends before it',
  },
  error: {
    rank: 0,
    symbol: '⚠',
    background: '#2f2f2f',
    color: '#fff',
    severity: 'error',
    meaning: 'the lab failed to run the experiment (see the errors under the table)',
  },
};

/** Every verdict and 'error': what the legend lists and the tests walk. */
export const SHOWN: readonly Shown[] = [...VERDICTS, 'error'];

/**
 * Worst first, by rank: one miss in three repetitions shows. An error leads (the cell's outcome is
 * then unknown), then the three ways of never noticing, then noticing at another time than
 * predicted, then the fault that was not in force, then the measured and the predicted.
 */
export const WORST_FIRST: readonly Shown[] = [...SHOWN].sort(
  (a, b) => VERDICT_STYLE[a].rank - VERDICT_STYLE[b].rank,
);

export const SEVERITY_STYLE: Record<Severity, { background: string; color: string }> = {
  ok: { background: VERDICT_STYLE.inside.background, color: VERDICT_STYLE.inside.color },
  info: {
    background: VERDICT_STYLE['measured (no prediction)'].background,
    color: VERDICT_STYLE['measured (no prediction)'].color,
  },
  void: { background: '#e4e4e4', color: '#222' },
  warn: { background: VERDICT_STYLE.late.background, color: VERDICT_STYLE.late.color },
  bad: {
    background: VERDICT_STYLE['beyond deadline'].background,
    color: VERDICT_STYLE['beyond deadline'].color,
  },
  error: { background: VERDICT_STYLE.error.background, color: VERDICT_STYLE.error.color },
};

const SEVERITY_ORDER: readonly Severity[] = ['error', 'bad', 'warn', 'void', 'info', 'ok'];

export function worstSeverity(ss: readonly Severity[]): Severity {
  return SEVERITY_ORDER.find((s) => ss.includes(s)) ?? 'ok';
}

/** The worst of a cell's verdicts (and errors), by WORST_FIRST; null when there is none. */
export function worstOf(shown: readonly Shown[]): Shown | null {
  return WORST_FIRST.find((v) => shown.includes(v)) ?? null;
}

/** The CSS class of a verdict: `v-not-detected-as-predicted`. */
export function verdictClass(v: Shown): string {
  return `v-${v.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '')}`;
}

/** The CSS of the colour map: one rule per verdict, one per severity. */
export function verdictCss(): string {
  const rules = SHOWN.map((v) => {
    const s = VERDICT_STYLE[v];
    return `.${verdictClass(v)}{background:${s.background};color:${s.color}}`;
  });
  const sev = Object.entries(SEVERITY_STYLE).map(
    ([k, s]) => `.sev-${k}{background:${s.background};color:${s.color}}`,
  );
  return [...rules, ...sev].join('\n');
}
