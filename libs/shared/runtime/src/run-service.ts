import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { z } from 'zod';
import {
  ConfigError,
  KAFKA_CONNECTION_VARIABLES,
  loadConfig,
  type KafkaConnectionEnv,
} from '@cloudflow/config';
import { runAsService, runWithRequestId } from '@cloudflow/observability';
import {
  InProcessBus,
  InProcessRpcServer,
  KAFKA,
  KafkaRpcServer,
  kafkaConnectionOf,
  kafkaLogSink,
} from '@cloudflow/messaging';
import { frameworkErrorEnvelope } from './envelope-exception.filter';
import { instrumentHttp } from './metrics';
import { requestIdOf } from './request-id';
import { traceRequests } from './request-span';
import { serviceFoundation, type ServiceTransport } from './service-foundation';

export interface ServiceDefinition<S extends z.ZodObject> {
  /** The service's name, as in logs, traces and consumer groups. */
  name: string;
  /** Extends BaseServiceEnvSchema (and MongoEnvSchema when `mongo` is set). */
  configSchema: S;
  /** The service's own modules; the foundation (logs, Kafka, MongoDB, health, errors) is added. */
  features?: (config: z.infer<S>) => ModuleImport[];
  /** Keeps state in MongoDB (`MONGO_URL`). */
  mongo: boolean;
  /** Calls other services over Kafka, waiting this long for an answer. */
  rpcTimeoutMs?: (config: z.infer<S>) => number;
  /** Serve `@MessagePattern` handlers from Kafka. */
  rpcServer: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: (config: z.infer<S>) => number;
  /** Which proxies' `X-Forwarded-For` names the client (Fastify's `trustProxy`). */
  trustProxy?: (config: z.infer<S>) => boolean | number | string[];
  /** Last touches before listening (routes prefix, hooks). */
  configure?: (app: NestFastifyApplication, config: z.infer<S>) => void | Promise<void>;
}

type ModuleImport = NonNullable<DynamicModule['imports']>[number];

/** Names a service definition's type, so one module can export it for both modes. */
export function defineService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
): ServiceDefinition<S> {
  return definition;
}

/**
 * What runService reads from every service's config. Kafka's connection
 * variables are absent in standalone mode, whose transport is the in-process bus.
 */
interface BaseConfig extends Partial<KafkaConnectionEnv> {
  PORT: number;
  HOST: string;
  SHUTDOWN_TIMEOUT_MS: number;
  LOG_LEVEL: string;
  KAFKA_TASK_PARTITIONS: number;
  MONGO_URL?: string;
  /** Serve `GET /metrics` and count HTTP requests. */
  METRICS_ENABLED: boolean;
}

/** How a composed service runs inside a standalone process. */
export interface ComposedRuntime {
  /** The environment its config is read from (each service has its own PORT). */
  env: NodeJS.ProcessEnv;
  /**
   * The bus every service of the process shares, in place of Kafka. Without
   * one, the service uses Kafka (`KAFKA_BROKERS` of `env`) as its own process
   * would: how a cross-service integration test composes services.
   */
  bus?: InProcessBus;
  /** Serve HTTP (the gateway, auth's OAuth pages) or only start the modules. */
  listen: boolean;
}

/** The root module of a service process: the foundation plus the service's features. */
@Module({})
class ServiceRootModule {}

function rootModule<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
  config: z.infer<S> & BaseConfig,
  transport: ServiceTransport,
): DynamicModule {
  const bus = 'bus' in transport ? transport.bus : undefined;
  const foundation = serviceFoundation({
    service: definition.name,
    logLevel: config.LOG_LEVEL,
    transport,
    taskPartitions: config.KAFKA_TASK_PARTITIONS,
    mongoUrl: definition.mongo ? config.MONGO_URL : undefined,
    rpcClient: definition.rpcTimeoutMs ? { timeoutMs: definition.rpcTimeoutMs(config) } : undefined,
    // A process of its own labels its process metrics with its service; a standalone process cannot.
    metrics: config.METRICS_ENABLED
      ? { processService: bus ? undefined : definition.name }
      : undefined,
  });
  return {
    module: ServiceRootModule,
    imports: [...foundation.imports, ...(definition.features?.(config) ?? [])],
    providers: foundation.providers,
  };
}

/**
 * Boots a CloudFlow service: validated config, JSON logs, HTTP on Fastify
 * (health endpoints at least), the Kafka RPC server where the service has
 * handlers, and a graceful shutdown on SIGTERM bounded by SHUTDOWN_TIMEOUT_MS.
 */
export async function runService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
): Promise<INestApplication> {
  try {
    return await startProcessService(definition);
  } catch (error) {
    fatal(definition.name, 'start-up failed', error);
  }
}

async function startProcessService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
): Promise<INestApplication> {
  let config: z.infer<S> & BaseConfig;
  let transport: ServiceTransport;
  try {
    config = loadConfig(definition.configSchema) as z.infer<S> & BaseConfig;
    transport = { kafka: kafkaConnectionOf(config) };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloudflow-${definition.name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  installProcessGuards(definition.name);
  const app = await createService(definition, config, transport);
  handleShutdownSignals(app, definition.name, config.SHUTDOWN_TIMEOUT_MS);
  await app.startAllMicroservices();
  await app.listen(config.PORT, config.HOST);
  app
    .get(Logger)
    .log(`cloudflow-${definition.name} listening on http://${config.HOST}:${config.PORT}`);
  return app;
}

/**
 * Starts a service inside a standalone process: the same modules, config
 * schema and HTTP set-up as its own process, on the in-process bus (or on
 * Kafka when `runtime` has no bus). Throws ConfigError for a bad
 * environment; signals and process guards are the composing process's
 * business.
 */
export async function startComposedService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
  runtime: ComposedRuntime,
): Promise<NestFastifyApplication> {
  // No Kafka where the transport is the bus: its variables are not read at all.
  const schema = runtime.bus
    ? definition.configSchema.omit(
        Object.fromEntries(KAFKA_CONNECTION_VARIABLES.map((name) => [name, true])) as never,
      )
    : definition.configSchema;
  const config = loadConfig(schema, runtime.env) as z.infer<S> & BaseConfig;
  const transport: ServiceTransport = runtime.bus
    ? { bus: runtime.bus }
    : { kafka: kafkaConnectionOf(config) };
  // Everything the service starts (timers, consumers, its HTTP server) runs as it.
  return runAsService(definition.name, async () => {
    const app = await createService(definition, config, transport);
    try {
      await app.startAllMicroservices();
      if (runtime.listen) await app.listen(config.PORT, config.HOST);
      else await app.init();
    } catch (error) {
      // A port in use, say: nothing of this service may stay behind.
      await app.close().catch(() => undefined);
      throw error;
    }
    return app;
  });
}

async function createService<S extends z.ZodObject>(
  definition: ServiceDefinition<S>,
  config: z.infer<S> & BaseConfig,
  transport: ServiceTransport,
): Promise<NestFastifyApplication> {
  const bus = 'bus' in transport ? transport.bus : undefined;
  const adapter = new FastifyAdapter({
    bodyLimit: definition.bodyLimit?.(config) ?? 1024 * 1024,
    trustProxy: definition.trustProxy?.(config) ?? false,
    genReqId: (req: IncomingMessage) => requestIdOf(req),
    requestIdHeader: false,
    // Ids are short; anything longer than this is refused before routing.
    routerOptions: { maxParamLength: 256 },
    return503OnClosing: true,
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = frameworkErrorEnvelope(
        error.statusCode ?? 400,
        error.message,
        request,
      );
      void reply.code(status).header('X-Request-Id', requestIdOf(request.raw)).send(body);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule(definition, config, transport),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
      // Fastify's own JSON parser only: no form bodies reach a controller.
      bodyParser: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();

  if (definition.rpcServer) {
    const log = kafkaLogSink('rpc-server');
    const strategy = bus
      ? new InProcessRpcServer({ bus, log })
      : new KafkaRpcServer({ kafka: app.get(KAFKA), service: definition.name, log });
    app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  }
  // Every request runs in its own context, so calls made for it carry its id.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, _reply, done) =>
      runWithRequestId(requestIdOf(request.raw), done),
    );
  traceRequests(app.getHttpAdapter().getInstance());
  if (config.METRICS_ENABLED) instrumentHttp(app.getHttpAdapter().getInstance(), definition.name);
  await definition.configure?.(app, config);
  return app;
}

/**
 * SIGTERM/SIGINT: stop taking work (Kafka consumers leave their groups, so
 * partitions move at once), finish what is in flight, close connections,
 * exit 0. If that outlasts the budget (a stuck connection), exit 1 anyway.
 */
function handleShutdownSignals(app: INestApplication, service: string, timeoutMs: number): void {
  const logger = app.get(Logger);
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log({ signal }, `cloudflow-${service} shutting down`);
    setTimeout(
      () => fatal(service, `shutdown took longer than ${timeoutMs} ms`, signal),
      timeoutMs,
    ).unref();
    try {
      await app.close();
      logger.log(`cloudflow-${service} stopped`);
      process.exit(0);
    } catch (error) {
      fatal(service, 'shutdown failed', error);
    }
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

function fatal(service: string, msg: string, error: unknown): never {
  const err = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), service, msg, err })}\n`,
  );
  process.exit(1);
}

function installProcessGuards(service: string): void {
  // Node prints warnings as plain text; keep every line of output JSON.
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), service, msg: warning.message, warning: warning.name })}\n`,
    ),
  );
  process.on('uncaughtException', (error) => fatal(service, 'uncaught exception', error));
  process.on('unhandledRejection', (error) => fatal(service, 'unhandled rejection', error));
}
