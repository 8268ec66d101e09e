import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { REQUEST_ID_HEADER, requestIdOf } from '@cloudflow/runtime';

/**
 * HTTP details of the public edge: JSON is the only body type the API
 * accepts, and every response names its request id.
 */
export function hardenHttp(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  // Fastify parses text/plain by default (runService turns Nest's form parser
  // off); the API speaks JSON only, so anything else is answered 415.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, requestIdOf(request.raw));
    void reply.header('Cache-Control', 'no-store');
    void reply.header('X-Content-Type-Options', 'nosniff');
  });
}
