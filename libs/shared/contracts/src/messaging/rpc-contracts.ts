import { z } from 'zod';
import { ApiKeyHashSchema, PrincipalSchema } from '../auth/principal';
import {
  ApiKeyPageSchema,
  ApiKeySchema,
  CreateApiKeyRequestSchema,
  MintedKeyRefSchema,
} from '../auth/api-keys';
import {
  CreateWorkspaceRequestSchema,
  WorkspaceSchema,
  WorkspaceWithKeySchema,
} from '../auth/workspaces';
import {
  CreateUserRequestSchema,
  PasswordHashSchema,
  UserPageSchema,
  UserSchema,
} from '../auth/users';
import {
  CreateOAuthClientRequestSchema,
  JwksSchema,
  OAuthClientPageSchema,
  OAuthClientSchema,
} from '../auth/oauth-clients';
import {
  CreateDataSourceRequestSchema,
  DataSourcePageSchema,
  DataSourceSchema,
  SealedConnectionStringSchema,
  ConnectionTestResultSchema,
  DATA_SOURCE_TYPE_NAMES,
  DataSourceMetadataSchema,
  TransitKeysSchema,
  DataSourceLookupSchema,
  DataSourceRefSchema,
  OpenedDataSourceSchema,
} from '../datasources/datasource';
import {
  PipelinePageSchema,
  PipelineSchema,
  PipelineValidationSchema,
} from '../pipelines/pipeline';
import {
  IdempotencyKeySchema,
  JobLogPageSchema,
  JobPageSchema,
  JobResultsSchema,
  JobSchema,
  ListJobsQuerySchema,
  RejectedRowPageSchema,
  SubmitJobRequestSchema,
} from '../jobs/job';
import { Topics, type RpcTopic } from './topics';

const WithPrincipal = z.object({ principal: PrincipalSchema });
const PipelineId = z.string().min(1).max(100);
const JobId = z.string().min(1).max(100);
const ResourceId = z.string().min(1).max(100);
const PageArgs = { limit: z.number().int().min(1).max(100), cursor: z.string().optional() };

/**
 * Every request/reply command: the topic of the service that owns it, the
 * request it takes and the response it gives. Producers and consumers both
 * read this map, so they cannot disagree. Renaming a pattern is a migration.
 */
export const RpcContracts = {
  'auth.apiKeys.verify': {
    topic: Topics.rpc.auth,
    request: z.object({ keyHash: ApiKeyHashSchema }),
    response: z.object({ principal: PrincipalSchema }),
  },
  'auth.apiKeys.create': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ key: CreateApiKeyRequestSchema, minted: MintedKeyRefSchema }),
    response: ApiKeySchema,
  },
  'auth.apiKeys.list': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend(PageArgs),
    response: ApiKeyPageSchema,
  },
  'auth.apiKeys.get': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ keyId: z.string().min(1).max(100) }),
    response: ApiKeySchema,
  },
  'auth.apiKeys.revoke': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ keyId: z.string().min(1).max(100) }),
    response: ApiKeySchema,
  },
  'auth.workspaces.create': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({
      workspace: CreateWorkspaceRequestSchema,
      adminKey: MintedKeyRefSchema,
    }),
    response: WorkspaceWithKeySchema,
  },
  'auth.workspaces.current': {
    topic: Topics.rpc.auth,
    request: WithPrincipal,
    response: WorkspaceSchema,
  },
  'auth.users.create': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({
      user: CreateUserRequestSchema.omit({ password: true }),
      passwordHash: PasswordHashSchema,
    }),
    response: UserSchema,
  },
  'auth.users.list': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend(PageArgs),
    response: UserPageSchema,
  },
  'auth.users.get': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ userId: ResourceId }),
    response: UserSchema,
  },
  'auth.users.delete': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ userId: ResourceId }),
    response: z.object({ deleted: z.literal(true) }),
  },
  'auth.oauthClients.create': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({
      client: CreateOAuthClientRequestSchema,
      /** Confidential clients only: the secret minted by the gateway, as hash and prefix. */
      secret: MintedKeyRefSchema.pick({ keyHash: true }).optional(),
    }),
    response: OAuthClientSchema,
  },
  'auth.oauthClients.list': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend(PageArgs),
    response: OAuthClientPageSchema,
  },
  'auth.oauthClients.get': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ clientId: ResourceId }),
    response: OAuthClientSchema,
  },
  'auth.oauthClients.delete': {
    topic: Topics.rpc.auth,
    request: WithPrincipal.extend({ clientId: ResourceId }),
    response: z.object({ deleted: z.literal(true) }),
  },
  /** The public signing keys, for the gateway to verify access tokens itself. */
  'auth.oauth.jwks': {
    topic: Topics.rpc.auth,
    request: z.object({}),
    response: JwksSchema,
  },
  /**
   * Who a verified access token's grant belongs to, if it still stands
   * (not revoked by code or refresh-token reuse, user and client still there).
   */
  'auth.oauth.grantPrincipal': {
    topic: Topics.rpc.auth,
    request: z.object({ grantId: ResourceId }),
    response: z.object({ principal: PrincipalSchema }),
  },
  'datasources.create': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({
      dataSource: CreateDataSourceRequestSchema.omit({ connectionString: true }),
      connectionString: SealedConnectionStringSchema,
    }),
    response: DataSourceSchema,
  },
  /** The broker's public keys, for the gateway to seal connection strings in transit. */
  'datasources.transitKeys': {
    topic: Topics.rpc.datasourceBroker,
    request: z.object({}),
    response: TransitKeysSchema,
  },
  /** Tests an unsaved connection string (sealed by the gateway). */
  'datasources.test': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({
      type: z.enum(DATA_SOURCE_TYPE_NAMES).optional(),
      connectionString: SealedConnectionStringSchema,
    }),
    response: ConnectionTestResultSchema,
  },
  'datasources.testSaved': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({ dataSourceId: ResourceId }),
    response: ConnectionTestResultSchema,
  },
  'datasources.metadata': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({ dataSourceId: ResourceId }),
    response: DataSourceMetadataSchema,
  },
  'datasources.list': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend(PageArgs),
    response: DataSourcePageSchema,
  },
  'datasources.get': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({ dataSourceId: ResourceId }),
    response: DataSourceSchema,
  },
  'datasources.update': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({
      dataSourceId: ResourceId,
      changes: z.strictObject({
        type: z.enum(DATA_SOURCE_TYPE_NAMES).optional(),
        name: z.string().min(1).max(200).optional(),
        connectionString: SealedConnectionStringSchema.optional(),
      }),
    }),
    response: DataSourceSchema,
  },
  /**
   * Service to service (scheduler, worker): which data source of a workspace
   * a step or input means. Never user-facing; carries no credentials.
   */
  'datasources.resolve': {
    topic: Topics.rpc.datasourceBroker,
    request: z.object({ workspaceId: ResourceId, lookup: DataSourceLookupSchema }),
    response: DataSourceRefSchema,
  },
  /**
   * Service to service: a data source's connection string, for the work of
   * one workspace only, sealed to the caller's one-off public key (`recipient`, a P-256 JWK).
   */
  'datasources.open': {
    topic: Topics.rpc.datasourceBroker,
    request: z.object({
      workspaceId: ResourceId,
      dataSourceId: ResourceId,
      recipient: z.object({
        kty: z.literal('EC'),
        crv: z.literal('P-256'),
        x: z.string(),
        y: z.string(),
      }),
    }),
    response: OpenedDataSourceSchema,
  },
  'datasources.delete': {
    topic: Topics.rpc.datasourceBroker,
    request: WithPrincipal.extend({ dataSourceId: ResourceId }),
    response: z.object({ deleted: z.literal(true) }),
  },
  'pipelines.create': {
    topic: Topics.rpc.pipelineRegistry,
    // Definitions are validated again by the registry; the gateway checks shape only.
    request: WithPrincipal.extend({ definition: z.unknown() }),
    response: PipelineSchema,
  },
  'pipelines.validate': {
    topic: Topics.rpc.pipelineRegistry,
    request: WithPrincipal.extend({ definition: z.unknown() }),
    response: PipelineValidationSchema,
  },
  'pipelines.list': {
    topic: Topics.rpc.pipelineRegistry,
    request: WithPrincipal.extend({
      limit: z.number().int().min(1).max(100),
      cursor: z.string().optional(),
    }),
    response: PipelinePageSchema,
  },
  'pipelines.get': {
    topic: Topics.rpc.pipelineRegistry,
    request: WithPrincipal.extend({ pipelineId: PipelineId }),
    response: PipelineSchema,
  },
  'pipelines.update': {
    topic: Topics.rpc.pipelineRegistry,
    request: WithPrincipal.extend({ pipelineId: PipelineId, patch: z.unknown() }),
    response: PipelineSchema,
  },
  'pipelines.delete': {
    topic: Topics.rpc.pipelineRegistry,
    request: WithPrincipal.extend({ pipelineId: PipelineId }),
    response: z.object({ deleted: z.literal(true) }),
  },
  'jobs.submit': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({
      job: SubmitJobRequestSchema,
      idempotencyKey: IdempotencyKeySchema.optional(),
    }),
    response: JobSchema,
  },
  'jobs.list': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ query: ListJobsQuerySchema }),
    response: JobPageSchema,
  },
  'jobs.get': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId }),
    response: JobSchema,
  },
  'jobs.results': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId, ...PageArgs }),
    response: JobResultsSchema,
  },
  'jobs.rejected': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId, ...PageArgs }),
    response: RejectedRowPageSchema,
  },
  'jobs.logs': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId, ...PageArgs }),
    response: JobLogPageSchema,
  },
  'jobs.cancel': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId }),
    response: JobSchema,
  },
  'jobs.rerun': {
    topic: Topics.rpc.jobScheduler,
    request: WithPrincipal.extend({ jobId: JobId }),
    response: JobSchema,
  },
} as const satisfies Record<string, { topic: RpcTopic; request: z.ZodType; response: z.ZodType }>;

export type RpcPattern = keyof typeof RpcContracts;
export type RpcRequest<P extends RpcPattern> = z.infer<(typeof RpcContracts)[P]['request']>;
export type RpcResponse<P extends RpcPattern> = z.infer<(typeof RpcContracts)[P]['response']>;

export function isRpcPattern(value: string): value is RpcPattern {
  return Object.prototype.hasOwnProperty.call(RpcContracts, value);
}

/** The reply envelope on `cloudflow.rpc.replies`. */
export const RpcReplySchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      code: z.number().int(),
      message: z.string(),
      details: z.string().optional(),
    }),
  }),
]);
export type RpcReply = z.infer<typeof RpcReplySchema>;
