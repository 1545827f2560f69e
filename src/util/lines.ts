import type { Readable } from 'node:stream';

/** Calls `onLine` for every complete line a stream delivers (UTF-8, '\n' separated). */
export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}
