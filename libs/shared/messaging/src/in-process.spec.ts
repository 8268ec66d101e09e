import { InProcessBus } from './in-process';
import type { KafkaLogSink } from './kafka-settings';

const quiet: KafkaLogSink = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

describe('InProcessBus', () => {
  it('takes partitions in turn, so one busy partition does not hold up the others', async () => {
    const bus = new InProcessBus({ log: quiet });
    const order: string[] = [];
    const many = Array.from({ length: 50 }, (_, n) => ({
      key: `a${n}`,
      value: { n },
      partition: 0,
    }));
    bus.publish('t', many, {});
    bus.publish('t', [{ key: 'late', value: { n: 99 }, partition: 5 }], {});
    const leave = bus.subscribe('t', 'g', true, async (m) => {
      order.push(m.key);
      await Promise.resolve();
    });
    await new Promise((r) => setTimeout(r, 50));
    await leave();
    expect(order).toHaveLength(51);
    expect(order.indexOf('late')).toBeLessThan(2);
  });

  it('keeps the latest messages for a group that joins later from the beginning, not for one that does not', async () => {
    const bus = new InProcessBus({ log: quiet });
    // A group exists before anything is published, as the worker pool does after boot.
    await bus.subscribe('t', 'first', true, () => Promise.resolve())();
    bus.publish(
      't',
      [
        { key: 'a', value: {} },
        { key: 'b', value: {} },
      ],
      {},
    );
    const late: string[] = [];
    const fresh: string[] = [];
    const leaveLate = bus.subscribe('t', 'late', true, async (m) => void late.push(m.key));
    const leaveFresh = bus.subscribe('t', 'fresh', false, async (m) => void fresh.push(m.key));
    bus.publish('t', [{ key: 'c', value: {} }], {});
    await new Promise((r) => setTimeout(r, 20));
    await leaveLate();
    await leaveFresh();
    expect(late.sort()).toEqual(['a', 'b', 'c']);
    expect(fresh).toEqual(['c']);
  });
});
