/** `tune --emit <library>`: the recommendations that library can express, as its code. */
import { BadInputError } from '../errors.js';
import type { Window } from '../core/window.js';
import type { Recommendation } from '../advise/tune.js';
import { formatWindow } from '../report/human.js';
import { formatStrategy, type StrategyKind } from '../strategies/index.js';
import { emitterFor } from './index.js';

/** Refuses, before anything runs, a library that can write none of `kinds`. */
export function checkEmit(library: string, kinds: readonly StrategyKind[], target: string): void {
  const e = emitterFor(library);
  if (!e.kinds.some((k) => kinds.includes(k)))
    throw new BadInputError(
      `--emit ${library} writes ${e.kinds.join(', ')} settings; the ${target} client's strategies are ${kinds.join(', ')}`,
    );
}

export interface Emitted {
  library: string;
  language: string;
  strategy: string;
  predicted_ms: Window | null;
  code: string;
}

export function emitted(library: string, recs: readonly Recommendation[]): Emitted[] {
  const e = emitterFor(library);
  return recs.flatMap((r) =>
    r.strategy && e.kinds.includes(r.strategy.kind)
      ? [
          {
            library,
            language: e.language,
            strategy: formatStrategy(r.strategy),
            predicted_ms: r.window,
            code: e.emit(r.strategy, r.window),
          },
        ]
      : [],
  );
}

/** The human form: each setting, its window, and its code. */
export function renderEmitted(list: readonly Emitted[], source: string): string {
  if (list.length === 0) return 'no setting this library can express meets the request';
  return list
    .map(
      (x) =>
        `# ${x.strategy}: a silent peer noticed within ${formatWindow(x.predicted_ms)} (${x.library}; options: ${source})\n${x.code.trimEnd()}`,
    )
    .join('\n\n');
}
