/**
 * Descriptions of the fields of the JSON files the lab writes (result.json, summary.json), typed
 * against the interfaces that build them: a field added to one without a description here does
 * not compile, and test/docs-reference.test.ts checks a real run's files against them. The
 * reference (docs/reference/results.md) is rendered from them. Pure.
 */

/** A field whose value is an object (or a list of objects) with its own described fields. */
export interface NestedDoc {
  readonly text: string;
  readonly fields: FieldDocsOf;
}

export type FieldDoc = string | NestedDoc;
export type FieldDocsOf = Readonly<Record<string, FieldDoc>>;

/** One description for every key of `T`, optional ones too, and no other. */
export type FieldDocs<T> = { readonly [K in keyof T]-?: FieldDoc };

export const textOf = (d: FieldDoc): string => (typeof d === 'string' ? d : d.text);

/**
 * The keys of `value` (a file's parsed JSON) that `docs` does not describe, as paths
 * (`cells[].lost.p50`), looking into the objects and lists of objects whose fields are described.
 */
export function undescribed(value: unknown, docs: FieldDocsOf, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => undescribed(v, docs, `${path}[]`));
  if (value === null || typeof value !== 'object') return [];
  const missing: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const doc = docs[key];
    if (doc === undefined) missing.push(at);
    else if (typeof doc !== 'string') missing.push(...undescribed(v, doc.fields, at));
  }
  return [...new Set(missing)];
}
