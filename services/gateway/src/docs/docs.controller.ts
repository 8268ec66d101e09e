import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Param, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppError, openApiJson } from '@cloudflow/contracts';
import { PublicGuard } from '../edge/edge.guards';

/** Swagger UI's own files, served from the installed package (no CDN: works offline). */
const SWAGGER_UI_DIR = dirname(createRequire(__filename).resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: join(SWAGGER_UI_DIR, 'swagger-ui.css'), type: 'text/css' },
  'swagger-ui-bundle.js': {
    file: join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js'),
    type: 'text/javascript',
  },
};

/** Starts Swagger UI on the document; a file, so the page's CSP needs no inline script. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  persistAuthorization: false,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>CloudFlow API reference</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <main id="reference"></main>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

/** Scripts and styles from this origin only; the reference calls the API on this origin. */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/**
 * The published API, described: the OpenAPI 3.1 document generated from the
 * route catalogue in `@cloudflow/contracts`, and an interactive reference.
 * Public, like any API description; counted per client IP.
 */
@Controller()
@UseGuards(PublicGuard)
export class DocsController {
  private readonly document = openApiJson();

  @Get('api/v1/openapi.json')
  @Header('Content-Type', 'application/json; charset=utf-8')
  openapi(): string {
    return this.document;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DOCS_CSP)
  page(): string {
    return PAGE;
  }

  @Get('docs/assets/:name')
  async asset(@Param('name') name: string, @Res() reply: FastifyReply): Promise<void> {
    if (name === 'init.js') {
      await reply.type('text/javascript').send(INIT_SCRIPT);
      return;
    }
    const asset = ASSETS[name];
    if (!asset) throw AppError.notFound('Documentation asset', name.slice(0, 60));
    await reply.type(asset.type).send(await readFile(asset.file));
  }
}
