import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type Provider,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import {
  createKafka,
  ensureTopics,
  instanceId,
  type KafkaLogSink,
  type KafkaSettings,
} from './kafka-settings';
import { KafkaRpcClient } from './kafka-rpc.client';
import { RpcClient } from './rpc-client';
import { ConsumerLag, InProcessConsumerLag, KafkaConsumerLag } from './consumer-lag';
import { KAFKA, KAFKA_SETTINGS, TOPICS_READY } from './messaging.tokens';
import { KafkaTopicPublisher } from './topic-publisher';
import { KafkaTopicSubscriber } from './topic-consumer';
import {
  InProcessBus,
  InProcessReadiness,
  InProcessRpcClient,
  InProcessTopicPublisher,
  InProcessTopicSubscriber,
} from './in-process';
import { TopicPublisher, TopicSubscriber, TransportReadiness } from './transport';

export { KAFKA, KAFKA_SETTINGS, TOPICS_READY };

export interface MessagingOptions {
  settings: KafkaSettings;
  /** Set for processes that call other services. */
  rpcClient?: { timeoutMs: number };
}

export interface InProcessMessagingOptions {
  /** The bus every service of the process shares. */
  bus: InProcessBus;
  /** Set for services that call other services. */
  rpcClient?: { timeoutMs: number };
}

/** kafkajs log lines, routed into the service's structured logger. */
export function kafkaLogSink(context: string): KafkaLogSink {
  const logger = new Logger(context);
  return {
    error: (message, meta) => logger.error({ ...meta }, message),
    warn: (message, meta) => logger.warn({ ...meta }, message),
    info: (message, meta) => logger.log({ ...meta }, message),
    debug: (message, meta) => logger.debug({ ...meta }, message),
  };
}

/** Readiness: the Kafka cluster answers a metadata request. */
@Injectable()
export class KafkaReadiness extends TransportReadiness implements OnApplicationShutdown {
  readonly name = 'kafka';
  private admin?: Admin;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {
    super();
  }

  override async check(): Promise<void> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    await this.admin.describeCluster();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect();
  }
}

/**
 * The transport of a service: Kafka (`forRoot`) or the in-process bus of
 * standalone mode (`inProcess`). Either way it provides the same ports:
 * TopicPublisher, TopicSubscriber, TransportReadiness, ConsumerLag and,
 * for callers, RpcClient.
 */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: KAFKA_SETTINGS, useValue: options.settings },
      { provide: KAFKA, useFactory: () => createKafka(options.settings, kafkaLogSink('kafka')) },
      {
        provide: TOPICS_READY,
        useFactory: (kafka: Kafka) => ensureTopics(kafka, options.settings),
        inject: [KAFKA],
      },
      { provide: TransportReadiness, useClass: KafkaReadiness },
      { provide: TopicPublisher, useClass: KafkaTopicPublisher },
      { provide: TopicSubscriber, useClass: KafkaTopicSubscriber },
      { provide: ConsumerLag, useClass: KafkaConsumerLag },
    ];
    const exports: NonNullable<DynamicModule['exports']> = [
      KAFKA,
      KAFKA_SETTINGS,
      TOPICS_READY,
      TransportReadiness,
      TopicPublisher,
      TopicSubscriber,
      ConsumerLag,
    ];
    const timeoutMs = options.rpcClient?.timeoutMs;
    const rpcClient: Provider | undefined =
      timeoutMs === undefined
        ? undefined
        : {
            provide: RpcClient,
            // Injects TOPICS_READY so the replies topic exists before we subscribe.
            useFactory: async (kafka: Kafka) => {
              const client = new KafkaRpcClient({
                kafka,
                instanceId: instanceId(options.settings.service),
                defaultTimeoutMs: timeoutMs,
                log: kafkaLogSink('rpc-client'),
              });
              await client.connect();
              return client;
            },
            inject: [KAFKA, TOPICS_READY],
          };
    return transportModule(providers, exports, rpcClient);
  }

  static inProcess(options: InProcessMessagingOptions): DynamicModule {
    const { bus } = options;
    const providers: Provider[] = [
      { provide: InProcessBus, useValue: bus },
      { provide: TransportReadiness, useClass: InProcessReadiness },
      { provide: TopicPublisher, useValue: new InProcessTopicPublisher(bus) },
      { provide: TopicSubscriber, useValue: new InProcessTopicSubscriber(bus) },
      { provide: ConsumerLag, useValue: new InProcessConsumerLag(bus) },
    ];
    const exports: NonNullable<DynamicModule['exports']> = [
      InProcessBus,
      TransportReadiness,
      TopicPublisher,
      TopicSubscriber,
      ConsumerLag,
    ];
    const rpcClient: Provider | undefined = options.rpcClient && {
      provide: RpcClient,
      useValue: new InProcessRpcClient({
        bus,
        defaultTimeoutMs: options.rpcClient.timeoutMs,
        log: kafkaLogSink('rpc-client'),
      }),
    };
    return transportModule(providers, exports, rpcClient);
  }
}

/** The global module of a transport; callers of other services also get its RpcClient. */
function transportModule(
  providers: Provider[],
  exports: NonNullable<DynamicModule['exports']>,
  rpcClient: Provider | undefined,
): DynamicModule {
  return {
    module: MessagingModule,
    global: true,
    providers: rpcClient ? [...providers, rpcClient] : providers,
    exports: rpcClient ? [...exports, RpcClient] : exports,
  };
}
