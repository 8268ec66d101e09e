import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { API_ROUTES } from '@cloudflow/contracts';
import { HealthController } from '@cloudflow/runtime';
import { ApiKeysController } from '../api-keys/api-keys.controller';
import { DataSourcesController } from '../datasources/datasources.controller';
import { JobsController } from '../jobs/jobs.controller';
import { OAuthClientsController } from '../oauth/oauth-clients.controller';
import { OAuthProxyController } from '../oauth/oauth-proxy.controller';
import { PipelinesController } from '../pipelines/pipelines.controller';
import { UsersController } from '../users/users.controller';
import { WorkspacesController } from '../workspaces/workspaces.controller';
import { DocsController } from './docs.controller';

const CONTROLLERS = [
  ApiKeysController,
  DataSourcesController,
  DocsController,
  HealthController,
  JobsController,
  OAuthClientsController,
  OAuthProxyController,
  PipelinesController,
  UsersController,
  WorkspacesController,
];

/** `GET /api/v1/jobs/{jobId}` for every route the controllers declare, read from Nest's metadata. */
function servedRoutes(): string[] {
  const routes: string[] = [];
  for (const controller of CONTROLLERS) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`
        .replace(/\/+/g, '/')
        .replace(/:(\w+)/g, '{$1}');
      routes.push(`${RequestMethod[method]} ${full}`);
    }
  }
  return routes.sort();
}

describe('the OpenAPI route catalogue and the gateway', () => {
  it('describes exactly the routes the gateway serves', () => {
    const documented = API_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    expect(documented).toEqual(servedRoutes());
  });
});
