/**
 * Compiles a pipeline's transform configs once into one function applied to
 * every row. All checking happens here; the per-row path never throws.
 */
import {
  isTransformOperation,
  TRANSFORM_OPERATION_NAMES,
  TRANSFORM_OPERATIONS,
  type TransformConfig,
} from '@cloudflow/contracts';
import { RowRejected, type Row, type RowTransform } from '../model';
import { compileCast } from './cast';
import { compileExpression, errorSummary, ExpressionError, toRowValue } from './expression';
import {
  compileDrop,
  compileFill,
  compileHash,
  compileMask,
  compileRename,
  compileSelect,
} from './field-transforms';
import {
  compileStringTransform,
  reverseGraphemes,
  toLowerCase,
  toUpperCase,
  trim,
} from './string-transforms';
import { compileValidate } from './validate';
import { describeValue } from './values';

/** A transform config that cannot run: `transform <index> (<operation>): <detail>`. */
export class TransformConfigError extends Error {
  constructor(
    /** 0-based position of the transform in the list given to compileTransforms. */
    readonly index: number,
    readonly operation: string,
    readonly detail: string,
  ) {
    super(`transform ${index} (${operation}): ${detail}`);
    this.name = 'TransformConfigError';
  }
}

type Step = (row: Row) => Row | null | RowRejected;

const identity: RowTransform = (row) => row;

/**
 * Validates and compiles `configs` (applied in order) into one RowTransform.
 * Throws TransformConfigError for an invalid config or expression. The
 * returned function mutates or replaces the row it is given, returns null
 * when a filter drops it and a RowRejected when a step refuses it.
 */
export function compileTransforms(configs: readonly TransformConfig[]): RowTransform {
  const steps = configs.map((config, index) => compileStep(config, index));
  if (steps.length === 0) return identity;
  const [first] = steps;
  if (steps.length === 1 && first) return first;
  return (row) => {
    let current = row;
    for (const step of steps) {
      const out = step(current);
      if (out === null || out instanceof RowRejected) return out;
      current = out;
    }
    return current;
  };
}

function compileStep(raw: TransformConfig, index: number): Step {
  const operation: unknown = (raw as { operation?: unknown } | null)?.operation;
  if (!isTransformOperation(operation)) {
    if (operation === undefined) {
      throw new TransformConfigError(index, '?', "missing required field 'operation'");
    }
    const expected = TRANSFORM_OPERATION_NAMES.join(', ');
    throw new TransformConfigError(
      index,
      String(operation),
      `unknown operation; expected one of ${expected}`,
    );
  }
  const fail = (detail: string) => new TransformConfigError(index, operation, detail);
  // Configs normally come validated from the registry; checking again costs
  // nothing per row and protects against stored or hand-built ones.
  const parsed = TRANSFORM_OPERATIONS[operation].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(issue ? describeIssue(issue.path, issue.message) : 'invalid config');
  }
  const config = parsed.data as TransformConfig;
  const problem = configProblem(config);
  if (problem) throw fail(problem);
  try {
    return buildStep(config);
  } catch (error) {
    if (error instanceof ExpressionError) throw fail(`expression: ${error.message}`);
    throw error;
  }
}

function buildStep(config: TransformConfig): Step {
  switch (config.operation) {
    case 'uppercase':
      return compileStringTransform(toUpperCase, config.fields);
    case 'lowercase':
      return compileStringTransform(toLowerCase, config.fields);
    case 'trim':
      return compileStringTransform(trim, config.fields);
    case 'reverse':
      return compileStringTransform(reverseGraphemes, config.fields);
    case 'filter':
      return compileFilter(config.expression);
    case 'derive':
      return compileDerive(config.field, config.expression);
    case 'select':
      return compileSelect(config.fields);
    case 'drop':
      return compileDrop(config.fields);
    case 'rename':
      return compileRename(config.mapping);
    case 'cast':
      return compileCast(config.types);
    case 'fill':
      return compileFill(config.values);
    case 'mask':
      return compileMask(config.fields, config);
    case 'hash':
      return compileHash(config.fields, config);
    case 'validate':
      return compileValidate(config.rules);
  }
}

function compileFilter(source: string): Step {
  const expression = compileExpression(source);
  if (expression.type !== 'bool' && expression.type !== 'dyn') {
    throw new ExpressionError(`must evaluate to bool, not ${expression.type}`);
  }
  const prefix = `filter ${describeValue(source)}: `;
  return (row) => {
    let keep: unknown;
    try {
      keep = expression.evaluate(row);
    } catch (error) {
      return new RowRejected(prefix + errorSummary(error));
    }
    return keep ? row : null;
  };
}

function compileDerive(field: string, source: string): Step {
  const expression = compileExpression(source);
  const prefix = `derive ${field}: `;
  return (row) => {
    try {
      row[field] = toRowValue(expression.evaluate(row));
      return row;
    } catch (error) {
      return new RowRejected(prefix + errorSummary(error));
    }
  };
}

/** What the schemas cannot say: names that cannot be own fields, clashing renames. */
function configProblem(config: TransformConfig): string | undefined {
  const names: string[] = [];
  switch (config.operation) {
    case 'derive':
      names.push(config.field);
      break;
    case 'rename': {
      const sources = new Map<string, string>();
      for (const [source, target] of Object.entries(config.mapping)) {
        const other = sources.get(target);
        if (other !== undefined)
          return `fields '${other}' and '${source}' are both renamed to '${target}'`;
        sources.set(target, source);
        names.push(source, target);
      }
      break;
    }
    case 'cast':
      names.push(...Object.keys(config.types));
      break;
    case 'fill':
      names.push(...Object.keys(config.values));
      break;
    case 'validate':
      names.push(...config.rules.map((rule) => rule.field));
      break;
    case 'filter':
      break;
    default:
      names.push(...(config.fields ?? []));
  }
  return names.includes('__proto__') ? "field name '__proto__' is not allowed" : undefined;
}

function describeIssue(path: readonly PropertyKey[], message: string): string {
  let where = '';
  for (const key of path) {
    where += typeof key === 'number' ? `[${key}]` : where ? `.${String(key)}` : String(key);
  }
  return where ? `${where}: ${message}` : message;
}
