import { InProcessConsumerLag, partitionLag } from './consumer-lag';
import { InProcessBus } from './in-process';
import type { KafkaLogSink } from './kafka-settings';

const quiet: KafkaLogSink = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

describe('partitionLag', () => {
  const ends = [
    { partition: 0, low: '0', high: '10' },
    { partition: 1, low: '5', high: '8' },
    { partition: 2, low: '0', high: '0' },
  ];

  it('sums end offset minus committed offset over the partitions', () => {
    const committed = [
      { partition: 0, offset: '7' },
      { partition: 1, offset: '8' },
      { partition: 2, offset: '0' },
    ];
    expect(partitionLag(ends, committed, true)).toBe(3);
  });

  it('counts a partition without a commit as its whole retained log for a group reading from the beginning', () => {
    const committed = [
      { partition: 0, offset: '-1' },
      { partition: 1, offset: '6' },
    ];
    expect(partitionLag(ends, committed, true)).toBe(10 + 2);
    expect(partitionLag(ends, committed, false)).toBe(2);
  });

  it('never counts what retention already deleted', () => {
    expect(partitionLag(ends, [{ partition: 1, offset: '2' }], false)).toBe(3);
  });
});

describe('InProcessConsumerLag', () => {
  it("reports each group's messages waiting or in hand, and leaves unknown groups out", async () => {
    const bus = new InProcessBus({ log: quiet });
    const lag = new InProcessConsumerLag(bus);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const leave = bus.subscribe('tasks', 'workers', true, async (m) => {
      await held;
      handled.push(m.key);
    });
    bus.publish(
      'tasks',
      ['a', 'b', 'c'].map((key) => ({ key, value: {}, partition: 0 })),
      {},
    );
    const groups = [
      { groupId: 'workers', topic: 'tasks', fromBeginning: true },
      { groupId: 'nobody', topic: 'tasks', fromBeginning: true },
    ];

    expect(await lag.of(groups)).toEqual([{ ...groups[0], lag: 3 }]);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(await lag.of(groups)).toEqual([{ ...groups[0], lag: 0 }]);
    await leave();
  });
});
