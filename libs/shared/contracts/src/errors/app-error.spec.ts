import { AppError } from './app-error';
import { ERROR_CODE_INFO, ErrorCode, httpStatusOf, isErrorCode } from './error-codes';

describe('AppError', () => {
  it('keeps code, message and details through the wire form', () => {
    const original = new AppError(
      ErrorCode.InvalidPipelineConfig,
      "Step 'transform' missing required field 'operation'",
    );
    const wire = JSON.parse(JSON.stringify(original.toWire())) as ReturnType<AppError['toWire']>;
    const copy = AppError.fromWire(wire);

    expect(copy).toBeInstanceOf(AppError);
    expect(copy.code).toBe(4001);
    expect(copy.message).toBe('Invalid pipeline configuration');
    expect(copy.details).toBe("Step 'transform' missing required field 'operation'");
    expect(copy.status).toBe(400);
  });

  it('keeps a custom message through the wire form', () => {
    const copy = AppError.fromWire(
      new AppError(ErrorCode.Conflict, 'retry', 'Version conflict').toWire(),
    );
    expect(copy.code).toBe(4090);
    expect(copy.message).toBe('Version conflict');
    expect(copy.details).toBe('retry');
  });

  it('keeps the absence of details through the wire form', () => {
    const wire = JSON.parse(
      JSON.stringify(new AppError(ErrorCode.Internal).toWire()),
    ) as ReturnType<AppError['toWire']>;
    const copy = AppError.fromWire(wire);
    expect(copy.code).toBe(5000);
    expect(copy.details).toBeUndefined();
  });

  it.each([1234, 4001.5, 200, -1, 9999])('turns the unknown wire code %p into 5000', (code) => {
    const copy = AppError.fromWire({ code, message: 'boom', details: 'x' });
    expect(copy.code).toBe(ErrorCode.Internal);
    expect(copy.status).toBe(500);
  });

  it('turns a wire code that is not a number into 5000', () => {
    const copy = AppError.fromWire({ code: '4040' as unknown as number, message: 'boom' });
    expect(copy.code).toBe(5000);
  });

  it('uses the title of the code as message by default', () => {
    expect(new AppError(ErrorCode.RateLimited).message).toBe('Rate limit exceeded');
    expect(new AppError(ErrorCode.Unauthorized).message).toBe('Unauthorized');
  });

  it('builds the common errors with their codes and words', () => {
    expect(AppError.notFound('Pipeline', 'pl_1')).toMatchObject({
      code: 4040,
      details: "Pipeline 'pl_1' was not found",
    });
    expect(AppError.unauthorized('bad key')).toMatchObject({
      code: 4010,
      details: 'bad key',
      status: 401,
    });
    expect(AppError.invalidPipeline('bad step')).toMatchObject({
      code: 4001,
      details: 'bad step',
      status: 400,
    });
    expect(AppError.unavailable('auth is down')).toMatchObject({
      code: 5030,
      details: 'auth is down',
      status: 503,
    });
  });

  it('is an Error with a recognisable name', () => {
    const error = new AppError(ErrorCode.NotFound);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AppError');
  });
});

describe('error codes', () => {
  it.each([
    [4001, 400, 'Invalid pipeline configuration'],
    [4010, 401, 'Unauthorized'],
    [4040, 404, 'Resource not found'],
    [4290, 429, 'Rate limit exceeded'],
    [5000, 500, 'Internal server error'],
    [5030, 503, 'Service unavailable'],
  ] as const)('maps %i to HTTP %i with the title %p', (code, status, title) => {
    expect(httpStatusOf(code)).toBe(status);
    expect(ERROR_CODE_INFO[code]).toEqual({ status, title });
    expect(new AppError(code).status).toBe(status);
  });

  it('keeps the published codes at their published numbers', () => {
    expect(ErrorCode.InvalidPipelineConfig).toBe(4001);
    expect(ErrorCode.Unauthorized).toBe(4010);
    expect(ErrorCode.NotFound).toBe(4040);
    expect(ErrorCode.RateLimited).toBe(4290);
    expect(ErrorCode.Internal).toBe(5000);
  });

  it('maps every code to its HTTP status times ten plus a digit', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(Math.floor(code / 10)).toBe(httpStatusOf(code));
    }
  });

  it('knows exactly the codes it lists', () => {
    for (const code of Object.values(ErrorCode)) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode(4999)).toBe(false);
    expect(isErrorCode('4001')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
    expect(Object.keys(ERROR_CODE_INFO).map(Number).sort()).toEqual(
      [...Object.values(ErrorCode)].sort(),
    );
  });
});
