import replyFrom from '@fastify/reply-from';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { REQUEST_ID_HEADER, requestIdOf } from '@cloudflow/runtime';
import { FORM_ROUTES } from '../oauth/oauth-proxy.controller';

/** Form bodies are small: a sign-in, a consent answer, a token request. */
const FORM_BODY_LIMIT = 16 * 1024;

/**
 * HTTP details of the public edge: JSON is the only body type the API
 * accepts — except the OAuth forms, read as raw text and forwarded to auth —
 * and every response names its request id.
 */
export async function hardenHttp(
  app: NestFastifyApplication,
  options: { authHttpUrl: string; rpcTimeoutMs: number },
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // Fastify parses text/plain by default (runService turns Nest's form parser
  // off); the API speaks JSON only, so anything else is answered 415.
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (request, body, done) => {
      if (FORM_ROUTES.has(request.url.split('?')[0] ?? '')) return done(null, body);
      done(
        Object.assign(new Error('Unsupported Media Type'), {
          statusCode: 415,
          code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
        }),
      );
    },
  );
  await app.register(replyFrom, {
    base: options.authHttpUrl,
    http: { requestOptions: { timeout: options.rpcTimeoutMs } },
  });
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, requestIdOf(request.raw));
    void reply.header('Cache-Control', 'no-store');
    void reply.header('X-Content-Type-Options', 'nosniff');
  });
}
