/** Small helpers on field values shared by the transforms. */

/** Missing, null or the empty string: what `fill`, `cast` and `required` treat as no value. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

const MAX_SHOWN = 60;

/** A value as quoted in a rejection reason: strings in single quotes, long ones cut. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return value.length > MAX_SHOWN ? `'${cut(value)}…'` : `'${value}'`;
  if (value !== null && typeof value === 'object') {
    const json = JSON.stringify(value);
    return json.length > MAX_SHOWN ? `${cut(json)}…` : json;
  }
  return String(value);
}

/** The first MAX_SHOWN code units, without splitting a surrogate pair. */
function cut(text: string): string {
  const last = text.charCodeAt(MAX_SHOWN - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_SHOWN - 1 : MAX_SHOWN);
}

/** Scalars and JSON text of objects: what `mask` and `hash` work on. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
