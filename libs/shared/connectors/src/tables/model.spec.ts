import { NetworkPolicy } from '../network-policy';
import { idleTimeoutOf, statementTimeoutOf } from './model';

const base = {
  policy: new NetworkPolicy({ allowLoopback: false, allowPrivate: false }),
  timeoutMs: 10_000,
  jobId: 'job_1',
  taskId: 'job_1-t0',
};

describe('sink and statement bounds', () => {
  it('cuts a frozen sink session off after 30 s by default, so a newer attempt waiting for its locks gets them within a few retries', () => {
    expect(idleTimeoutOf(base)).toBe(30_000);
    expect(idleTimeoutOf({ ...base, idleTimeoutMs: 1_000 })).toBe(1_000);
  });

  it('never bounds a statement tighter than a connect', () => {
    expect(statementTimeoutOf({ ...base, statementTimeoutMs: 5_000 })).toBe(10_000);
    expect(statementTimeoutOf(base)).toBe(10 * 60_000);
  });
});
