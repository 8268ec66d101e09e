import { Controller, Get, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '@cloudflow/contracts';
import { requestIdOf } from '@cloudflow/runtime';
import { PublicGuard } from '../edge/edge.guards';

/**
 * The OAuth endpoints, served by auth and forwarded to it over HTTP as they
 * are: bodies, cookies and answers pass through untouched, so passwords,
 * codes, client secrets and refresh tokens never enter Kafka (ADR 0009).
 * They need no credential and are rate limited per client IP.
 */
@Controller()
@UseGuards(PublicGuard)
export class OAuthProxyController {
  @Get('auth/authorize')
  authorize(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Get('auth/fake-oauth')
  fakeOAuth(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Post('auth/login')
  login(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Post('auth/consent')
  consent(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Post('api/v1/oauth/token')
  token(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Post('api/v1/oauth/revoke')
  revoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Get('.well-known/jwks.json')
  jwks(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }

  @Get('.well-known/oauth-authorization-server')
  metadata(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    forward(req, reply);
  }
}

/** Paths whose form-encoded bodies the gateway accepts, to forward them. */
export const FORM_ROUTES = new Set([
  '/auth/login',
  '/auth/consent',
  '/api/v1/oauth/token',
  '/api/v1/oauth/revoke',
]);

function forward(req: FastifyRequest, reply: FastifyReply): void {
  void reply.from(req.url, {
    rewriteRequestHeaders: (_original, headers) => ({
      ...headers,
      'x-request-id': requestIdOf(req.raw),
    }),
    onError: (res) => {
      // Auth is down or did not answer: the envelope, never the proxy's words.
      const error = AppError.unavailable('The sign-in service is unavailable; try again shortly');
      void res
        .status(503)
        .header('Content-Type', 'application/json; charset=utf-8')
        .send({ error: 'Service unavailable', code: error.code, details: error.details });
    },
  });
}
