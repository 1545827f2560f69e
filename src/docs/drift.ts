/** How a committed reference file differs from the generated one, in one line for a test failure. */

/** Null when equal; else the file, the first differing line (1-based) and both versions of it. */
export function firstDifference(
  file: string,
  committed: string | null,
  generated: string,
): string | null {
  if (committed === generated) return null;
  if (committed === null) return `${file}: missing (run \`npm run docs\`)`;
  const a = committed.split('\n');
  const b = generated.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (l: string | undefined): string =>
    l === undefined ? '(end of file)' : JSON.stringify(l);
  return `${file}:${i + 1} differs from what the code generates (run \`npm run docs\`):\n  committed: ${show(a[i])}\n  generated: ${show(b[i])}`;
}
