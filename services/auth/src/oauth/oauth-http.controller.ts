import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SCOPES } from '@cloudflow/contracts';
import { AuthorizationService, type OAuthAnswer } from './authorization.service';
import { OAUTH_SETTINGS, SigningKeys, type OAuthSettings } from './signing-keys';

/** Pages carry no script and may not be framed; forms post to this origin only. */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * The OAuth 2.0 authorization server's HTTP endpoints. They are served by
 * auth and reached through the gateway, which forwards them over HTTP (not
 * Kafka), so passwords, codes and tokens never enter a message (ADR 0009).
 */
@Controller()
export class OAuthHttpController {
  constructor(
    private readonly authorization: AuthorizationService,
    private readonly keys: SigningKeys,
    @Inject(OAUTH_SETTINGS) private readonly settings: OAuthSettings,
  ) {}

  @Get('auth/authorize')
  async authorize(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    send(
      reply,
      await this.authorization.start(req.query as Record<string, unknown>, isHttps(this.settings)),
    );
  }

  /** The published API's name for the authorization endpoint. */
  @Get('auth/fake-oauth')
  fakeOAuth(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.authorize(req, reply);
  }

  @Post('auth/login')
  async login(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.authorization.signIn(formOf(req), (name) => cookie(req, name)));
  }

  @Post('auth/consent')
  async consent(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.authorization.decide(formOf(req), (name) => cookie(req, name)));
  }

  @Post('api/v1/oauth/token')
  async token(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.authorization.token(req.body, req.headers));
  }

  @Post('api/v1/oauth/revoke')
  async revoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.authorization.revoke(req.body, req.headers));
  }

  @Get('.well-known/jwks.json')
  async jwks(@Res() reply: FastifyReply): Promise<void> {
    const { keys } = await this.keys.jwks();
    void reply.header('Cache-Control', 'public, max-age=300').send({ keys });
  }

  /** RFC 8414 metadata, so OAuth client libraries configure themselves. */
  @Get('.well-known/oauth-authorization-server')
  metadata(): Record<string, unknown> {
    const issuer = this.settings.issuer;
    return {
      issuer,
      authorization_endpoint: `${issuer}/auth/authorize`,
      token_endpoint: `${issuer}/api/v1/oauth/token`,
      revocation_endpoint: `${issuer}/api/v1/oauth/revoke`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: [...SCOPES],
    };
  }
}

function send(reply: FastifyReply, answer: OAuthAnswer): void {
  switch (answer.kind) {
    case 'page':
      if (answer.setCookie) void reply.header('Set-Cookie', answer.setCookie);
      void reply.status(answer.status).headers(PAGE_HEADERS).send(answer.html);
      return;
    case 'redirect':
      void reply
        .status(302)
        .header('Location', answer.location)
        .header('Cache-Control', 'no-store')
        .send();
      return;
    case 'json':
      void reply
        .status(answer.status)
        .headers(answer.headers ?? {})
        .send(answer.body);
  }
}

function formOf(req: FastifyRequest): Record<string, unknown> {
  return req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** Cookies are marked Secure when the public URL is HTTPS. */
function isHttps(settings: OAuthSettings): boolean {
  return settings.issuer.startsWith('https://');
}
