import {
  ApiError,
  CommandExit,
  NetworkError,
  UsageError,
  describeError,
  exitCodeOf,
} from './cli-errors';

describe('describeError', () => {
  it("prints the envelope's message and code, then each detail on its own line", () => {
    const error = new ApiError(
      400,
      {
        error: 'Invalid pipeline configuration',
        code: 4001,
        details:
          "Step 'transform' (steps[1]) missing required field 'operation'; unknown field 'nmae'",
      },
      'http://127.0.0.1:8080/api/v1/pipelines',
    );

    expect(describeError(error, false)).toEqual([
      'error: Invalid pipeline configuration (code 4001)',
      "  Step 'transform' (steps[1]) missing required field 'operation'",
      "  unknown field 'nmae'",
    ]);
    expect(exitCodeOf(error)).toBe(1);
  });

  it('says when to retry after a 429', () => {
    const error = new ApiError(
      429,
      {
        error: 'Rate limit exceeded',
        code: 4290,
        details: 'quota of 600 per 60 s',
        retry_after: 41,
      },
      'http://x',
      41,
    );

    expect(describeError(error, false)).toEqual([
      'error: Rate limit exceeded (code 4290)',
      '  quota of 600 per 60 s',
      '  retry after 41 s',
    ]);
  });

  it('gives the correlation id of a 5xx to quote', () => {
    const error = new ApiError(
      500,
      { error: 'Internal server error', code: 5000, correlationId: 'req-42' },
      'http://x',
    );

    expect(describeError(error, false)).toEqual([
      'error: Internal server error (code 5000)',
      '  correlation id: req-42',
    ]);
  });

  it('names the URL that could not be reached, in one line', () => {
    const lines = describeError(
      new NetworkError('http://127.0.0.1:9/api/v1/pipelines', 'connection refused'),
      false,
    );

    expect(lines).toEqual([
      'error: cannot reach http://127.0.0.1:9/api/v1/pipelines: connection refused',
    ]);
  });

  it('shows an unexpected error in one line, its stack only with CLOUDFLOW_DEBUG=1', () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'x')");

    const quiet = describeError(error, false);
    expect(quiet).toHaveLength(1);
    expect(quiet[0]).toMatch(/^error: unexpected: Cannot read properties.*CLOUDFLOW_DEBUG=1/);
    const loud = describeError(error, true);
    expect(loud.length).toBeGreaterThan(1);
    expect(loud.slice(1).join('\n')).toContain('cli-errors.spec.ts');
  });

  it('maps errors to exit codes: usage 2, refusals 1, explicit exits their own', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new NetworkError('u', 'r'))).toBe(1);
    expect(exitCodeOf(new CommandExit(130))).toBe(130);
    expect(exitCodeOf(new Error('x'))).toBe(1);
  });
});
