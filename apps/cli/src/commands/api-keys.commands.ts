import type { Command } from 'commander';
import { MAX_PAGE_SIZE, SCOPES, type ApiKey, type CreatedApiKey } from '@cloudflow/contracts';
import type { CliContext } from '../cli-context';
import { UsageError } from '../cli-errors';
import { ApiClient } from '../http/api-client';
import { collect, positiveInt, scopeOf, shortTime } from './command-kit';

const API_KEYS = '/api/v1/api-keys';

export function registerApiKeyCommands(program: Command, ctx: CliContext): void {
  const apiKeys = program
    .command('api-keys')
    .description('issue, list and revoke API keys (needs an admin credential)');

  apiKeys
    .command('list')
    .description('list API keys: their prefixes, never the secrets')
    .option('--limit <n>', 'show at most this many', positiveInt(), 1000)
    .action(async (options: { limit: number }, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      const items = await collect(
        session.api.pages<ApiKey>(API_KEYS, { limit: MAX_PAGE_SIZE }),
        options.limit,
      );
      if (printer.json) return printer.document(items);
      printer.table(
        [
          { header: 'ID', value: (k: ApiKey) => k.id, keep: true },
          { header: 'NAME', value: (k) => k.name },
          { header: 'PREFIX', value: (k) => `${k.prefix}…` },
          { header: 'SCOPES', value: (k) => k.scopes.join(' ') },
          { header: 'CREATED', value: (k) => shortTime(k.createdAt) },
          { header: 'EXPIRES', value: (k) => shortTime(k.expiresAt) || 'never' },
          { header: 'REVOKED', value: (k) => shortTime(k.revokedAt) },
        ],
        items,
        'No API keys.',
      );
    });

  apiKeys
    .command('create')
    .description('issue an API key; its secret is printed this once')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <scopes>', `comma-separated, of ${SCOPES.join(', ')} (default read,write)`)
    .option(
      '--expires-at <time>',
      'ISO 8601 time after which it is refused, e.g. 2027-01-01T00:00:00Z',
    )
    .action(
      async (options: { name: string; scopes?: string; expiresAt?: string }, command: Command) => {
        const { session, printer } = scopeOf(ctx, command);
        const scopes = options.scopes?.split(/[,\s]+/).filter(Boolean);
        if (scopes?.length === 0) throw new UsageError('--scopes names no scope');
        const created = await session.api.post<CreatedApiKey>(API_KEYS, {
          name: options.name,
          ...(scopes && { scopes }),
          ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
        });
        if (printer.json) return printer.document(created);
        printer.line(
          `Created API key ${created.id} '${created.name}' (scopes ${created.scopes.join(' ')}).`,
        );
        printer.line('Its secret, shown this once (store it now; CloudFlow keeps only a hash):');
        printer.line();
        printer.line(`  ${created.key}`);
        printer.line();
      },
    );

  apiKeys
    .command('revoke')
    .description('revoke an API key: every request with it is refused within seconds')
    .argument('<key>', 'the key id (key_...)')
    .action(async (keyId: string, _options: unknown, command: Command) => {
      const { session, printer } = scopeOf(ctx, command);
      await session.api.delete(ApiClient.path`/api/v1/api-keys/${keyId}`);
      if (printer.json) return printer.document({ revoked: keyId });
      printer.line(`Revoked API key ${keyId}.`);
    });
}
