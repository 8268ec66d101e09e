import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
  type ArgumentsHost,
} from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import {
  AppError,
  ErrorCode,
  ErrorEnvelopeSchema,
  RateLimitedError,
  type ErrorEnvelope,
} from '@cloudflow/contracts';
import { EnvelopeExceptionFilter } from './envelope-exception.filter';

/** A Fastify reply stand-in that records what the filter answers. */
class FakeReply {
  statusCode: number | undefined;
  readonly headers: Record<string, string> = {};
  body: unknown;
  sent = 0;

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  send(body: unknown): this {
    this.body = body;
    this.sent += 1;
    return this;
  }

  get envelope(): ErrorEnvelope {
    return ErrorEnvelopeSchema.strict().parse(this.body);
  }
}

interface FakeRequest {
  method: string;
  url: string;
  raw: { headers: Record<string, string | string[] | undefined> };
}

function httpHost(request: Partial<FakeRequest> = {}): {
  host: ArgumentsHost;
  reply: FakeReply;
  request: FakeRequest;
} {
  const reply = new FakeReply();
  const req: FakeRequest = {
    method: 'GET',
    url: '/api/v1/pipelines',
    raw: { headers: {} },
    ...request,
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({
      getRequest: () => req,
      getResponse: () => reply,
      getNext: () => undefined,
    }),
  } as unknown as ArgumentsHost;
  return { host, reply, request: req };
}

function answer(exception: unknown, request: Partial<FakeRequest> = {}): FakeReply {
  const { host, reply } = httpHost(request);
  const result = new EnvelopeExceptionFilter().catch(exception, host);
  expect(result).toBeUndefined();
  expect(reply.sent).toBe(1);
  return reply;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('EnvelopeExceptionFilter', () => {
  let logError: jest.SpyInstance;

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    logError.mockRestore();
  });

  describe('AppError', () => {
    it('answers 4001 as 400 in the published envelope', () => {
      const details = "Step 'transform' (steps[1]) missing required field 'operation'";
      const reply = answer(AppError.invalidPipeline(details));
      expect(reply.statusCode).toBe(400);
      expect(reply.body).toEqual({ error: 'Invalid pipeline configuration', code: 4001, details });
    });

    it.each([
      [AppError.unauthorized('The API key is invalid, expired or revoked'), 401, 4010],
      [AppError.notFound('Pipeline', 'pl_1'), 404, 4040],
      [new AppError(ErrorCode.Forbidden, 'read-only'), 403, 4030],
      [new AppError(ErrorCode.Conflict, 'retry'), 409, 4090],
      [
        new AppError(ErrorCode.ValidationFailed, "query parameter 'limit' must be at most 100"),
        400,
        4002,
      ],
      [new AppError(ErrorCode.RateLimited, 'slow down'), 429, 4290],
    ])('answers %p with its status and code', (error, status, code) => {
      const reply = answer(error);
      expect(reply.statusCode).toBe(status);
      expect(reply.body).toEqual({ error: error.message, code, details: error.details });
    });

    it('answers a rate-limited request with the published body and a Retry-After header', () => {
      const reply = answer(new RateLimitedError(42));
      expect(reply.statusCode).toBe(429);
      expect(reply.body).toEqual({
        error: 'Rate limit exceeded',
        code: 4290,
        retry_after: 42,
        details: 'Too many requests; try again in 42 s',
      });
      expect(reply.headers['retry-after']).toBe('42');
    });

    it('leaves details out when the error has none', () => {
      expect(answer(new AppError(ErrorCode.Forbidden)).body).toEqual({
        error: 'Forbidden',
        code: 4030,
      });
    });

    it('answers 5030 with its details and a correlation id, without logging it as a failure', () => {
      const reply = answer(
        AppError.unavailable('The message broker is unavailable; try again shortly'),
      );
      expect(reply.statusCode).toBe(503);
      expect(reply.envelope).toEqual({
        error: 'Service unavailable',
        code: 5030,
        details: 'The message broker is unavailable; try again shortly',
        correlationId: reply.headers['x-request-id'],
      });
      expect(logError).not.toHaveBeenCalled();
    });

    it('does not log 4xx answers as failures', () => {
      answer(AppError.notFound('Pipeline', 'pl_1'));
      expect(logError).not.toHaveBeenCalled();
    });
  });

  describe('unexpected errors', () => {
    it('answers 500/5000 without the message or stack, quoting the request id', () => {
      const error = new Error('db password is x');
      const reply = answer(error);
      const text = JSON.stringify(reply.body);

      expect(reply.statusCode).toBe(500);
      const requestId = reply.headers['x-request-id'];
      expect(requestId).toMatch(UUID);
      expect(reply.envelope).toEqual({
        error: 'Internal server error',
        code: 5000,
        details: `An unexpected error occurred; quote correlation id ${requestId} when reporting it`,
        correlationId: requestId,
      });
      expect(text).not.toContain('db password');
      expect(text).not.toContain('password');
      expect(text).not.toContain(error.stack!.split('\n')[1]!.trim());
      expect(text).not.toContain('.ts:');
    });

    it('logs the error with the same request id it answers', () => {
      const error = new Error('db password is x');
      const reply = answer(error, { method: 'POST', url: '/api/v1/pipelines' });
      expect(logError).toHaveBeenCalledTimes(1);
      expect(logError).toHaveBeenCalledWith(
        expect.objectContaining({
          err: error,
          requestId: reply.envelope.correlationId,
          method: 'POST',
        }),
        'request failed',
      );
    });

    it("uses the caller's X-Request-Id as correlation id when it is sane", () => {
      const reply = answer(new Error('boom'), {
        raw: { headers: { 'x-request-id': 'req-42.abc' } },
      });
      expect(reply.headers['x-request-id']).toBe('req-42.abc');
      expect(reply.envelope.correlationId).toBe('req-42.abc');
    });

    it('replaces an X-Request-Id that could inject into logs or headers', () => {
      const reply = answer(new Error('boom'), {
        raw: { headers: { 'x-request-id': 'abc\r\nSet-Cookie: a=b' } },
      });
      expect(reply.headers['x-request-id']).toMatch(UUID);
      expect(reply.envelope.correlationId).toBe(reply.headers['x-request-id']);
    });

    it.each([
      ['a string', 'connection refused to mongodb://admin:pw@db'],
      ['null', null],
      ['undefined', undefined],
      ['an object', { secret: 'hunter2' }],
      ['an error with status 500', Object.assign(new Error('pool exhausted'), { statusCode: 500 })],
    ])('answers 500/5000 when %s is thrown', (_label, thrown) => {
      const reply = answer(thrown);
      expect(reply.statusCode).toBe(500);
      expect(reply.envelope.code).toBe(5000);
      expect(reply.envelope.correlationId).toBe(reply.headers['x-request-id']);
      const text = JSON.stringify(reply.body);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('mongodb://');
      expect(text).not.toContain('pool exhausted');
    });

    it('hides the message of an HttpException with a 5xx status', () => {
      const reply = answer(new InternalServerErrorException('ECONNREFUSED 10.0.0.5:27017'));
      expect(reply.statusCode).toBe(500);
      expect(reply.envelope.code).toBe(5000);
      expect(JSON.stringify(reply.body)).not.toContain('ECONNREFUSED');
    });
  });

  describe('framework errors', () => {
    it('answers a Nest NotFoundException as 404/4040 naming the route without its query', () => {
      const reply = answer(new NotFoundException('Cannot GET /api/v1/nope'), {
        method: 'DELETE',
        url: '/api/v1/nope?token=abc',
      });
      expect(reply.statusCode).toBe(404);
      expect(reply.body).toEqual({
        error: 'Resource not found',
        code: 4040,
        details: 'No route DELETE /api/v1/nope',
      });
    });

    it.each([
      [
        new PayloadTooLargeException(),
        413,
        4130,
        'The request body is larger than this endpoint accepts',
      ],
      [
        new HttpException('too big', HttpStatus.PAYLOAD_TOO_LARGE),
        413,
        4130,
        'The request body is larger than this endpoint accepts',
      ],
      [
        new UnsupportedMediaTypeException(),
        415,
        4150,
        "Unsupported Content-Type; send 'application/json'",
      ],
      [
        new HttpException('xml', HttpStatus.UNSUPPORTED_MEDIA_TYPE),
        415,
        4150,
        "Unsupported Content-Type; send 'application/json'",
      ],
    ])('answers %p as %i/%i', (exception, status, code, details) => {
      const reply = answer(exception);
      expect(reply.statusCode).toBe(status);
      expect(reply.body).toMatchObject({ code, details });
    });

    it('answers an HttpException with status 400 as 4000, keeping the reason', () => {
      const reply = answer(new HttpException('Unexpected token } in JSON at position 12', 400));
      expect(reply.statusCode).toBe(400);
      expect(reply.body).toEqual({
        error: 'Bad request',
        code: 4000,
        details: 'The request could not be read: Unexpected token } in JSON at position 12',
      });
    });

    it('cuts the reason of a 400 short', () => {
      const reply = answer(new BadRequestException('x'.repeat(5000)));
      expect(reply.envelope.details!.length).toBeLessThanOrEqual(
        'The request could not be read: '.length + 200,
      );
    });

    it('answers 405 naming the method', () => {
      const reply = answer(new HttpException('no', HttpStatus.METHOD_NOT_ALLOWED), {
        method: 'PATCH',
      });
      expect(reply.statusCode).toBe(405);
      expect(reply.body).toEqual({
        error: 'Method not allowed',
        code: 4050,
        details: 'Method PATCH is not allowed here',
      });
    });

    it('answers a Nest ForbiddenException as 403/4030', () => {
      const reply = answer(new ForbiddenException());
      expect(reply.statusCode).toBe(403);
      expect(reply.envelope.code).toBe(4030);
    });

    it.each([
      [
        'FST_ERR_CTP_BODY_TOO_LARGE',
        413,
        4130,
        'The request body is larger than this endpoint accepts',
      ],
      [
        'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        415,
        4150,
        "Unsupported Content-Type; send 'application/json'",
      ],
      ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 4000, 'The body is not valid JSON'],
      [
        'FST_ERR_CTP_EMPTY_JSON_BODY',
        400,
        4000,
        "The body is empty but Content-Type is 'application/json'",
      ],
      ['FST_ERR_SOMETHING_NEW', 400, 4000, 'Bad request'],
    ])('answers the Fastify error %s as %i/%i in safe words', (code, status, appCode, details) => {
      const error = Object.assign(
        new Error(`internal words for ${code} at /srv/app/node_modules/x.js`),
        {
          code,
          statusCode: status,
        },
      );
      const reply = answer(error);
      expect(reply.statusCode).toBe(status);
      expect(reply.body).toEqual({ error: expect.any(String), code: appCode, details });
    });
  });

  describe('WWW-Authenticate', () => {
    it.each([
      ['an AppError 4010', AppError.unauthorized('Authentication failed')],
      ['a Nest UnauthorizedException', new UnauthorizedException()],
    ])('is set on 401 answers to %s', (_label, exception) => {
      const reply = answer(exception);
      expect(reply.statusCode).toBe(401);
      expect(reply.envelope.code).toBe(4010);
      expect(reply.headers['www-authenticate']).toBe(
        'ApiKey realm="cloudflow", Bearer realm="cloudflow"',
      );
    });

    it('is not set on other answers', () => {
      expect(
        answer(AppError.notFound('Pipeline', 'x')).headers['www-authenticate'],
      ).toBeUndefined();
      expect(answer(new Error('x')).headers['www-authenticate']).toBeUndefined();
    });
  });

  it('always answers the request id in X-Request-Id', () => {
    const reply = answer(AppError.notFound('Pipeline', 'x'), {
      raw: { headers: { 'x-request-id': 'trace-1' } },
    });
    expect(reply.headers['x-request-id']).toBe('trace-1');
    expect(reply.envelope.correlationId).toBeUndefined();
  });

  describe('over RPC', () => {
    it('passes the very same exception on as an erroring observable and answers nothing', async () => {
      const exception = AppError.notFound('Pipeline', 'pl_1');
      const switchToHttp = jest.fn();
      const host = { getType: () => 'rpc', switchToHttp } as unknown as ArgumentsHost;

      const result = new EnvelopeExceptionFilter().catch(exception, host);

      expect(isObservable(result)).toBe(true);
      await expect(lastValueFrom(result!)).rejects.toBe(exception);
      expect(switchToHttp).not.toHaveBeenCalled();
    });

    it('passes unexpected errors on unchanged too', async () => {
      const exception = new Error('db password is x');
      const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
      const result = new EnvelopeExceptionFilter().catch(exception, host);
      await expect(lastValueFrom(result!)).rejects.toBe(exception);
    });
  });
});
