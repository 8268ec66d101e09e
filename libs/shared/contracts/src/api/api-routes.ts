import { z } from 'zod';
import {
  ApiKeyPageSchema,
  ApiKeySchema,
  CreateApiKeyRequestSchema,
  CreatedApiKeySchema,
} from '../auth/api-keys';
import {
  CreateOAuthClientRequestSchema,
  CreatedOAuthClientSchema,
  JwksSchema,
  OAuthClientPageSchema,
  OAuthClientSchema,
} from '../auth/oauth-clients';
import { CreateUserRequestSchema, UserPageSchema, UserSchema } from '../auth/users';
import {
  CreateWorkspaceRequestSchema,
  CreatedWorkspaceSchema,
  WorkspaceSchema,
} from '../auth/workspaces';
import {
  ConnectionTestResultSchema,
  CreateDataSourceRequestSchema,
  DataSourceMetadataSchema,
  DataSourcePageSchema,
  DataSourceSchema,
  TestConnectionRequestSchema,
  UpdateDataSourceRequestSchema,
} from '../datasources/datasource';
import {
  JobLogPageSchema,
  JobPageSchema,
  JobResultsSchema,
  JobSchema,
  ListJobsQuerySchema,
  RejectedRowPageSchema,
  SubmitJobRequestSchema,
} from '../jobs/job';
import {
  ErrorPolicySchema,
  PipelineDescriptionSchema,
  PipelineNameSchema,
} from '../pipelines/pipeline-definition';
import { PageQuerySchema } from '../pipelines/pipeline-requests';
import {
  PipelinePageSchema,
  PipelineSchema,
  PipelineValidationSchema,
} from '../pipelines/pipeline';
import { SinkConfigSchema, SourceConfigSchema } from '../pipelines/step-configs';
import { TRANSFORM_OPERATIONS } from '../pipelines/transform-operations';

/**
 * Every HTTP route the gateway serves, with what it takes and answers: the
 * one catalogue the OpenAPI document is generated from. A unit test holds it
 * to the gateway's controllers (each route here is served, each served route
 * is here), so the published document cannot drift from the code.
 */
export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI form: `/api/v1/jobs/{jobId}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  /** `credential`: ApiKey or Bearer; `none`: public (health, discovery, the OAuth endpoints). */
  auth: 'credential' | 'none';
  /** Counts against the costly quota too (job submission, connection tests). */
  costly?: boolean;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** `form`: the OAuth endpoints also take application/x-www-form-urlencoded. */
  bodyForms?: ('json' | 'form')[];
  /** Success answers: status -> schema (null: no body) and what it means. */
  responses: Record<number, { description: string; schema: z.ZodType | null; html?: boolean }>;
  /** Extra headers a success answer carries. */
  location?: boolean;
  idempotencyKey?: boolean;
  /** An example request body, as the published API reference shows it. */
  example?: unknown;
}

const StepSchema = z.union([
  z.strictObject({ type: z.literal('source'), config: SourceConfigSchema }),
  z.strictObject({
    type: z.literal('transform'),
    config: z.union(Object.values(TRANSFORM_OPERATIONS) as unknown as [z.ZodType, z.ZodType]),
  }),
  z.strictObject({ type: z.literal('sink'), config: SinkConfigSchema }),
]);

/** Body of `POST /api/v1/pipelines` (validated by validateCreatePipeline; this is its shape). */
export const CreatePipelineBodySchema = z.strictObject({
  name: PipelineNameSchema,
  description: PipelineDescriptionSchema.optional(),
  steps: z.array(StepSchema).min(1).max(100),
  errorPolicy: ErrorPolicySchema.optional(),
});

/** Body of `PUT /api/v1/pipelines/{id}`: the fields given replace the stored ones. */
export const UpdatePipelineBodySchema = CreatePipelineBodySchema.partial();

/** The OAuth token endpoint's body (RFC 6749 §4.1.3, §6, §4.4; RFC 7636). */
const TokenRequestSchema = z.object({
  grant_type: z
    .enum(['authorization_code', 'refresh_token', 'client_credentials'])
    .optional()
    .describe(
      'Implied `authorization_code` when the body has a `code`, as the published API shows',
    ),
  code: z.string().optional(),
  redirect_uri: z.string().optional(),
  code_verifier: z.string().optional(),
  refresh_token: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  scope: z.string().optional(),
});

const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
});

const HealthSchema = z.object({ status: z.string() }).catchall(z.unknown());

/** The pipeline of the published API's "Create Pipeline" example, verbatim. */
export const PUBLISHED_EXAMPLE_PIPELINE = {
  name: 'MyFakePipeline',
  steps: [
    { type: 'source', config: { path: '/fake/data.csv' } },
    { type: 'transform', config: { operation: 'uppercase' } },
    { type: 'sink', config: { target: 'db://fake-database' } },
  ],
};

const ok = (schema: z.ZodType | null, description = 'OK') => ({ description, schema });
const page = (query = PageQuerySchema) => query;

/** Schemas published by name under `components.schemas`; the others are inlined. */
export const NAMED_SCHEMAS: {
  requests: Record<string, z.ZodType>;
  responses: Record<string, z.ZodType>;
} = {
  requests: {
    CreatePipelineRequest: CreatePipelineBodySchema,
    UpdatePipelineRequest: UpdatePipelineBodySchema,
    SubmitJobRequest: SubmitJobRequestSchema,
    CreateDataSourceRequest: CreateDataSourceRequestSchema,
    UpdateDataSourceRequest: UpdateDataSourceRequestSchema,
    TestConnectionRequest: TestConnectionRequestSchema,
    CreateApiKeyRequest: CreateApiKeyRequestSchema,
    CreateWorkspaceRequest: CreateWorkspaceRequestSchema,
    CreateUserRequest: CreateUserRequestSchema,
    CreateOAuthClientRequest: CreateOAuthClientRequestSchema,
    TokenRequest: TokenRequestSchema,
  },
  responses: {
    Pipeline: PipelineSchema,
    PipelinePage: PipelinePageSchema,
    PipelineValidation: PipelineValidationSchema,
    Job: JobSchema,
    JobPage: JobPageSchema,
    JobResults: JobResultsSchema,
    RejectedRowPage: RejectedRowPageSchema,
    JobLogPage: JobLogPageSchema,
    DataSource: DataSourceSchema,
    DataSourcePage: DataSourcePageSchema,
    ConnectionTestResult: ConnectionTestResultSchema,
    DataSourceMetadata: DataSourceMetadataSchema,
    ApiKey: ApiKeySchema,
    CreatedApiKey: CreatedApiKeySchema,
    ApiKeyPage: ApiKeyPageSchema,
    Workspace: WorkspaceSchema,
    CreatedWorkspace: CreatedWorkspaceSchema,
    User: UserSchema,
    UserPage: UserPageSchema,
    OAuthClient: OAuthClientSchema,
    CreatedOAuthClient: CreatedOAuthClientSchema,
    OAuthClientPage: OAuthClientPageSchema,
    Jwks: JwksSchema,
    TokenResponse: TokenResponseSchema,
  },
};

export const API_ROUTES: ApiRoute[] = [
  // Pipelines
  {
    method: 'post',
    path: '/api/v1/pipelines',
    operationId: 'createPipeline',
    tag: 'Pipelines',
    summary: 'Create a pipeline (version 1)',
    auth: 'credential',
    body: CreatePipelineBodySchema,
    responses: { 201: ok(PipelineSchema, 'Created') },
    location: true,
    example: PUBLISHED_EXAMPLE_PIPELINE,
  },
  {
    method: 'post',
    path: '/api/v1/pipelines/validate',
    operationId: 'validatePipeline',
    tag: 'Pipelines',
    summary:
      'Check a pipeline definition as create would, without saving it: 200 with the definition as it would be stored, or 400/4001 naming every problem',
    auth: 'credential',
    body: CreatePipelineBodySchema,
    responses: { 200: ok(PipelineValidationSchema) },
    example: PUBLISHED_EXAMPLE_PIPELINE,
  },
  {
    method: 'get',
    path: '/api/v1/pipelines',
    operationId: 'listPipelines',
    tag: 'Pipelines',
    summary: 'List pipelines in creation order, a page at a time',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(PipelinePageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/pipelines/{pipelineId}',
    operationId: 'getPipeline',
    tag: 'Pipelines',
    summary: 'Get a pipeline',
    auth: 'credential',
    responses: { 200: ok(PipelineSchema) },
  },
  {
    method: 'put',
    path: '/api/v1/pipelines/{pipelineId}',
    operationId: 'updatePipeline',
    tag: 'Pipelines',
    summary: 'Replace the fields given; the version goes up by one',
    auth: 'credential',
    body: UpdatePipelineBodySchema,
    responses: { 200: ok(PipelineSchema) },
    example: { steps: [{ type: 'transform', config: { operation: 'reverse' } }] },
  },
  {
    method: 'delete',
    path: '/api/v1/pipelines/{pipelineId}',
    operationId: 'deletePipeline',
    tag: 'Pipelines',
    summary: 'Delete a pipeline',
    auth: 'credential',
    responses: { 204: ok(null, 'Deleted') },
  },
  // Jobs
  {
    method: 'post',
    path: '/api/v1/jobs',
    operationId: 'submitJob',
    tag: 'Jobs',
    summary: 'Submit a job over a pipeline (202; poll its status)',
    auth: 'credential',
    costly: true,
    body: SubmitJobRequestSchema,
    responses: { 202: ok(JobSchema, 'Accepted') },
    location: true,
    idempotencyKey: true,
    example: { pipelineId: 'pl_...', input: 's3://fake-bucket/data.csv' },
  },
  {
    method: 'get',
    path: '/api/v1/jobs',
    operationId: 'listJobs',
    tag: 'Jobs',
    summary: 'List jobs, newest first, by pipeline or status',
    auth: 'credential',
    query: ListJobsQuerySchema,
    responses: { 200: ok(JobPageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{jobId}',
    operationId: 'getJob',
    tag: 'Jobs',
    summary: 'Get a job',
    auth: 'credential',
    responses: { 200: ok(JobSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{jobId}/status',
    operationId: 'getJobStatus',
    tag: 'Jobs',
    summary: 'A job’s status and live progress',
    auth: 'credential',
    responses: { 200: ok(JobSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{jobId}/results',
    operationId: 'getJobResults',
    tag: 'Jobs',
    summary: 'What a SUCCEEDED job produced, rows in input order',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(JobResultsSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{jobId}/rejected',
    operationId: 'getJobRejectedRows',
    tag: 'Jobs',
    summary: 'Rows the job rejected, with line and reason',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(RejectedRowPageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/jobs/{jobId}/logs',
    operationId: 'getJobLogs',
    tag: 'Jobs',
    summary:
      'What the scheduler and the workers did for a job, oldest first: planning, each task attempt with its worker and counts, retries, the outcome',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(JobLogPageSchema) },
  },
  {
    method: 'post',
    path: '/api/v1/jobs/{jobId}/cancel',
    operationId: 'cancelJob',
    tag: 'Jobs',
    summary: 'Cancel a running job',
    auth: 'credential',
    responses: { 202: ok(JobSchema, 'Accepted') },
  },
  {
    method: 'post',
    path: '/api/v1/jobs/{jobId}/rerun',
    operationId: 'rerunJob',
    tag: 'Jobs',
    summary: 'Run a finished job again on the same pinned pipeline and input',
    auth: 'credential',
    costly: true,
    responses: { 202: ok(JobSchema, 'Accepted') },
    location: true,
  },
  // Data sources
  {
    method: 'post',
    path: '/api/v1/datasources',
    operationId: 'createDataSource',
    tag: 'Data sources',
    summary: 'Save a data source (the password stored sealed, shown redacted)',
    auth: 'credential',
    body: CreateDataSourceRequestSchema,
    responses: { 201: ok(DataSourceSchema, 'Created') },
    location: true,
    example: {
      type: 'database',
      connectionString: 'Server=fake-db;Database=fake;User Id=fake;Password=fake;',
    },
  },
  {
    method: 'post',
    path: '/api/v1/datasources/test',
    operationId: 'testConnection',
    tag: 'Data sources',
    summary: 'Test an unsaved connection string, stage by stage',
    auth: 'credential',
    costly: true,
    body: TestConnectionRequestSchema,
    responses: { 200: ok(ConnectionTestResultSchema) },
    example: { connectionString: 'Server=fake-db;Database=fake;User Id=fake;Password=fake;' },
  },
  {
    method: 'post',
    path: '/api/v1/datasources/{id}/test',
    operationId: 'testDataSource',
    tag: 'Data sources',
    summary: 'Test a saved data source with its stored credentials',
    auth: 'credential',
    costly: true,
    responses: { 200: ok(ConnectionTestResultSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/datasources/{id}/metadata',
    operationId: 'getDataSourceMetadata',
    tag: 'Data sources',
    summary: 'Tables, collections, objects or files, read from the source',
    auth: 'credential',
    responses: { 200: ok(DataSourceMetadataSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/datasources',
    operationId: 'listDataSources',
    tag: 'Data sources',
    summary: 'List data sources',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(DataSourcePageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/datasources/{id}',
    operationId: 'getDataSource',
    tag: 'Data sources',
    summary: 'Get a data source',
    auth: 'credential',
    responses: { 200: ok(DataSourceSchema) },
  },
  {
    method: 'put',
    path: '/api/v1/datasources/{id}',
    operationId: 'updateDataSource',
    tag: 'Data sources',
    summary: 'Replace the fields given',
    auth: 'credential',
    body: UpdateDataSourceRequestSchema,
    responses: { 200: ok(DataSourceSchema) },
  },
  {
    method: 'delete',
    path: '/api/v1/datasources/{id}',
    operationId: 'deleteDataSource',
    tag: 'Data sources',
    summary: 'Delete a data source',
    auth: 'credential',
    responses: { 204: ok(null, 'Deleted') },
  },
  // API keys
  {
    method: 'post',
    path: '/api/v1/api-keys',
    operationId: 'createApiKey',
    tag: 'API keys',
    summary: 'Issue an API key (shown once)',
    auth: 'credential',
    body: CreateApiKeyRequestSchema,
    responses: { 201: ok(CreatedApiKeySchema, 'Created') },
    location: true,
  },
  {
    method: 'get',
    path: '/api/v1/api-keys',
    operationId: 'listApiKeys',
    tag: 'API keys',
    summary: 'List API keys (prefixes only)',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(ApiKeyPageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/api-keys/{keyId}',
    operationId: 'getApiKey',
    tag: 'API keys',
    summary: 'Get an API key',
    auth: 'credential',
    responses: { 200: ok(ApiKeySchema) },
  },
  {
    method: 'delete',
    path: '/api/v1/api-keys/{keyId}',
    operationId: 'revokeApiKey',
    tag: 'API keys',
    summary: 'Revoke an API key',
    auth: 'credential',
    responses: { 204: ok(null, 'Revoked') },
  },
  // Workspaces and users
  {
    method: 'post',
    path: '/api/v1/workspaces',
    operationId: 'createWorkspace',
    tag: 'Workspaces',
    summary: 'Create a workspace with its first admin key (default workspace admins)',
    auth: 'credential',
    body: CreateWorkspaceRequestSchema,
    responses: { 201: ok(CreatedWorkspaceSchema, 'Created') },
    location: true,
  },
  {
    method: 'get',
    path: '/api/v1/workspaces/current',
    operationId: 'getCurrentWorkspace',
    tag: 'Workspaces',
    summary: 'The workspace the credential belongs to',
    auth: 'credential',
    responses: { 200: ok(WorkspaceSchema) },
  },
  {
    method: 'post',
    path: '/api/v1/users',
    operationId: 'createUser',
    tag: 'Users',
    summary: 'Create a user who signs in through OAuth',
    auth: 'credential',
    body: CreateUserRequestSchema,
    responses: { 201: ok(UserSchema, 'Created') },
    location: true,
  },
  {
    method: 'get',
    path: '/api/v1/users',
    operationId: 'listUsers',
    tag: 'Users',
    summary: 'List users',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(UserPageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/users/{userId}',
    operationId: 'getUser',
    tag: 'Users',
    summary: 'Get a user',
    auth: 'credential',
    responses: { 200: ok(UserSchema) },
  },
  {
    method: 'delete',
    path: '/api/v1/users/{userId}',
    operationId: 'deleteUser',
    tag: 'Users',
    summary: 'Delete a user (their tokens stop working)',
    auth: 'credential',
    responses: { 204: ok(null, 'Deleted') },
  },
  // OAuth 2.0
  {
    method: 'post',
    path: '/api/v1/oauth/clients',
    operationId: 'createOAuthClient',
    tag: 'OAuth 2.0',
    summary: 'Register an OAuth client (a confidential client’s secret shown once)',
    auth: 'credential',
    body: CreateOAuthClientRequestSchema,
    responses: { 201: ok(CreatedOAuthClientSchema, 'Created') },
    location: true,
  },
  {
    method: 'get',
    path: '/api/v1/oauth/clients',
    operationId: 'listOAuthClients',
    tag: 'OAuth 2.0',
    summary: 'List OAuth clients',
    auth: 'credential',
    query: page(),
    responses: { 200: ok(OAuthClientPageSchema) },
  },
  {
    method: 'get',
    path: '/api/v1/oauth/clients/{clientId}',
    operationId: 'getOAuthClient',
    tag: 'OAuth 2.0',
    summary: 'Get an OAuth client',
    auth: 'credential',
    responses: { 200: ok(OAuthClientSchema) },
  },
  {
    method: 'delete',
    path: '/api/v1/oauth/clients/{clientId}',
    operationId: 'deleteOAuthClient',
    tag: 'OAuth 2.0',
    summary: 'Delete an OAuth client (its tokens stop working)',
    auth: 'credential',
    responses: { 204: ok(null, 'Deleted') },
  },
  {
    method: 'post',
    path: '/api/v1/oauth/token',
    operationId: 'requestToken',
    tag: 'OAuth 2.0',
    summary: 'Exchange a code, a refresh token or client credentials for tokens',
    auth: 'none',
    body: TokenRequestSchema,
    bodyForms: ['json', 'form'],
    responses: { 200: ok(TokenResponseSchema) },
    example: { code: 'FAKE-AUTH-CODE' },
  },
  {
    method: 'post',
    path: '/api/v1/oauth/revoke',
    operationId: 'revokeToken',
    tag: 'OAuth 2.0',
    summary: 'Revoke a refresh or access token (RFC 7009)',
    auth: 'none',
    body: z.object({ token: z.string(), token_type_hint: z.string().optional() }),
    bodyForms: ['json', 'form'],
    responses: { 200: ok(null) },
  },
  {
    method: 'get',
    path: '/auth/authorize',
    operationId: 'authorize',
    tag: 'OAuth 2.0',
    summary: 'Start the authorization code flow: the sign-in page',
    auth: 'none',
    responses: { 200: { description: 'Sign-in page', schema: null, html: true } },
  },
  {
    method: 'get',
    path: '/auth/fake-oauth',
    operationId: 'fakeOAuth',
    tag: 'OAuth 2.0',
    summary: 'The published flow’s entry: the same sign-in page as /auth/authorize',
    auth: 'none',
    responses: { 200: { description: 'Sign-in page', schema: null, html: true } },
  },
  {
    method: 'post',
    path: '/auth/login',
    operationId: 'signIn',
    tag: 'OAuth 2.0',
    summary: 'Sign-in form post (then the consent page)',
    auth: 'none',
    bodyForms: ['form'],
    responses: { 200: { description: 'Consent page', schema: null, html: true } },
  },
  {
    method: 'post',
    path: '/auth/consent',
    operationId: 'consent',
    tag: 'OAuth 2.0',
    summary: 'Consent form post (redirects to the client with a code)',
    auth: 'none',
    bodyForms: ['form'],
    responses: { 303: { description: 'Redirect to the client', schema: null } },
  },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    tag: 'OAuth 2.0',
    summary: 'Public keys that verify access tokens',
    auth: 'none',
    responses: { 200: ok(JwksSchema) },
  },
  {
    method: 'get',
    path: '/.well-known/oauth-authorization-server',
    operationId: 'authorizationServerMetadata',
    tag: 'OAuth 2.0',
    summary: 'Authorization server metadata (RFC 8414)',
    auth: 'none',
    responses: { 200: ok(z.record(z.string(), z.unknown())) },
  },
  // Service
  {
    method: 'get',
    path: '/api/v1/openapi.json',
    operationId: 'openApiDocument',
    tag: 'Service',
    summary: 'This document (OpenAPI 3.1)',
    auth: 'none',
    responses: { 200: ok(z.record(z.string(), z.unknown())) },
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'apiReference',
    tag: 'Service',
    summary: 'The interactive API reference',
    auth: 'none',
    responses: { 200: { description: 'Reference page', schema: null, html: true } },
  },
  {
    method: 'get',
    path: '/docs/assets/{name}',
    operationId: 'apiReferenceAsset',
    tag: 'Service',
    summary: 'Scripts and styles of the reference page',
    auth: 'none',
    responses: { 200: { description: 'The file', schema: null } },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'Service',
    summary: 'The process is alive',
    auth: 'none',
    responses: { 200: ok(HealthSchema) },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'readiness',
    tag: 'Service',
    summary: 'The gateway can serve (Kafka answers)',
    auth: 'none',
    responses: { 200: ok(HealthSchema) },
  },
];
