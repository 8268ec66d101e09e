import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { InProcessBus } from './in-process';
import { KAFKA } from './messaging.tokens';

/** A consumer group on a topic, as the group reads it. */
export interface ConsumerGroupRef {
  groupId: string;
  topic: string;
  /**
   * How the group starts on a partition where it committed nothing: from the
   * oldest retained message (the whole log is its backlog) or the newest.
   */
  fromBeginning: boolean;
}

export interface ConsumerGroupLag extends ConsumerGroupRef {
  /** Messages the group has not yet committed (or handled), over all partitions. */
  lag: number;
}

/**
 * How far behind consumer groups are, for the operators' metrics. Kafka:
 * each partition's end offset minus the group's committed offset. The
 * in-process bus of standalone mode: the messages each group has waiting or
 * in hand. Groups the transport does not know are left out of the answer.
 */
export abstract class ConsumerLag {
  abstract of(groups: ConsumerGroupRef[]): Promise<ConsumerGroupLag[]>;
}

/**
 * A group's lag on a topic: per partition, the end offset minus the
 * committed one (never below the oldest retained offset: what retention
 * deleted is not waiting); a partition without a commit counts its retained
 * log when the group reads from the beginning, nothing otherwise.
 */
export function partitionLag(
  ends: { partition: number; high: string; low: string }[],
  committed: { partition: number; offset: string }[],
  fromBeginning: boolean,
): number {
  const commits = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  let lag = 0;
  for (const { partition, high, low } of ends) {
    const end = Number(high);
    const start = Number(low);
    const offset = commits.get(partition) ?? -1;
    if (offset >= 0) lag += Math.max(0, end - Math.max(offset, start));
    else if (fromBeginning) lag += Math.max(0, end - start);
  }
  return lag;
}

/** Lag from the Kafka cluster, through an admin client connected on first use. */
@Injectable()
export class KafkaConsumerLag extends ConsumerLag implements OnApplicationShutdown {
  private admin?: Promise<Admin>;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {
    super();
  }

  override async of(groups: ConsumerGroupRef[]): Promise<ConsumerGroupLag[]> {
    const admin = await this.connected();
    const topics = [...new Set(groups.map((g) => g.topic))];
    const ends = new Map(
      await Promise.all(
        topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const),
      ),
    );
    return Promise.all(
      groups.map(async (group) => {
        const [offsets] = await admin.fetchOffsets({
          groupId: group.groupId,
          topics: [group.topic],
        });
        const lag = partitionLag(
          ends.get(group.topic) ?? [],
          offsets?.partitions ?? [],
          group.fromBeginning,
        );
        return { ...group, lag };
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  private connected(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      const connecting = admin.connect().then(() => admin);
      // A failed connection is not kept: the next scrape tries again.
      connecting.catch(() => {
        if (this.admin === connecting) this.admin = undefined;
      });
      this.admin = connecting;
    }
    return this.admin;
  }
}

/** Lag on the in-process bus: what each group has queued or in hand. */
export class InProcessConsumerLag extends ConsumerLag {
  constructor(private readonly bus: InProcessBus) {
    super();
  }

  override of(groups: ConsumerGroupRef[]): Promise<ConsumerGroupLag[]> {
    return Promise.resolve(
      groups.flatMap((group) => {
        const lag = this.bus.pendingOf(group.topic, group.groupId);
        return lag === undefined ? [] : [{ ...group, lag }];
      }),
    );
  }
}
