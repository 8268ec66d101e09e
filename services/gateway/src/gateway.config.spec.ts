import { GatewayConfigSchema } from './gateway.config';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', MONGO_URL: 'mongodb://127.0.0.1:27017/cf' };

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    ['10.0.0.0/8, 192.168.1.1 ,', ['10.0.0.0/8', '192.168.1.1']],
  ])('reads %p as %p', (value, expected) => {
    const config = GatewayConfigSchema.parse({
      ...base,
      ...(value !== undefined && { TRUST_PROXY: value }),
    });
    expect(config.TRUST_PROXY).toEqual(expected);
  });
});
