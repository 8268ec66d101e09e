/** The `validate` operation: every rule is checked and every failure reported. */
import type { TransformConfig } from '@cloudflow/contracts';
import { RowRejected, type Row } from '../model';
import { CONVERTERS, NOT_CONVERTIBLE, TYPE_DESCRIPTIONS } from './cast';
import { describeValue, isBlank, toText } from './values';

export type ValidationRule = Extract<TransformConfig, { operation: 'validate' }>['rules'][number];

/** Appends its failures (if any) for one row to `problems`. */
type Check = (row: Row, problems: string[]) => void;

const MAX_LISTED_OPTIONS = 10;

function compileRule(rule: ValidationRule): Check {
  const { field, required = false, type, min, max, oneOf } = rule;
  const convert = type ? CONVERTERS[type] : undefined;
  const typeDescription = type ? TYPE_DESCRIPTIONS[type] : '';
  const source = rule.pattern;
  const pattern = source === undefined ? undefined : new RegExp(source, 'u');
  // Compared as text, so CSV's "2" is one of [2] and "true" one of [true].
  const options = oneOf && new Set(oneOf.filter((option) => option !== null).map(String));
  const optionList =
    oneOf &&
    oneOf.slice(0, MAX_LISTED_OPTIONS).map(describeValue).join(', ') +
      (oneOf.length > MAX_LISTED_OPTIONS ? ', …' : '');
  const ranged = min !== undefined || max !== undefined;

  return (row, problems) => {
    const value = row[field];
    // An absent optional value has nothing else to check.
    if (isBlank(value)) {
      if (required) problems.push(`${field}: is required`);
      return;
    }
    if (convert && convert(value) === NOT_CONVERTIBLE) {
      problems.push(`${field}: ${describeValue(value)} is not ${typeDescription}`);
      return;
    }
    if (pattern && !pattern.test(toText(value))) {
      problems.push(`${field}: does not match pattern ${source}`);
    }
    if (ranged) {
      const number = CONVERTERS.number(value);
      if (typeof number !== 'number') {
        problems.push(`${field}: ${describeValue(value)} is not a number`);
      } else if (min !== undefined && number < min) {
        problems.push(`${field}: ${toText(value)} is below min ${min}`);
      } else if (max !== undefined && number > max) {
        problems.push(`${field}: ${toText(value)} is above max ${max}`);
      }
    }
    if (options && (typeof value === 'object' || !options.has(String(value)))) {
      problems.push(`${field}: ${describeValue(value)} is not one of ${optionList}`);
    }
  };
}

/** Rejects a row failing any rule, with all the reasons joined by '; '. */
export function compileValidate(rules: readonly ValidationRule[]): (row: Row) => Row | RowRejected {
  const checks = rules.map(compileRule);
  // Reused across rows; emptied before each.
  const problems: string[] = [];
  return (row) => {
    problems.length = 0;
    for (const check of checks) check(row, problems);
    return problems.length === 0 ? row : new RowRejected(problems.join('; '));
  };
}
