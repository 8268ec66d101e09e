import { randomBytes } from 'node:crypto';
import { loadConfig } from '@cloudflow/config';
import { AuthConfigSchema } from './auth.config';

const key = () => randomBytes(32).toString('base64');
const REQUIRED = { KAFKA_BROKERS: '127.0.0.1:9092', MONGO_URL: 'mongodb://127.0.0.1:27017/cf' };

describe('AuthConfigSchema', () => {
  it('reads the keys the OAuth signing key may be sealed with while one is rotated', () => {
    const [current, old] = [key(), key()];
    const config = loadConfig(AuthConfigSchema, {
      ...REQUIRED,
      CLOUDFLOW_SECRET_KEY: current,
      CLOUDFLOW_SECRET_KEY_PREVIOUS: old,
    });
    expect(config.CLOUDFLOW_SECRET_KEY).toBe(current);
    expect(config.CLOUDFLOW_SECRET_KEY_PREVIOUS).toEqual([old]);
  });

  it('has no previous keys unless told', () => {
    const config = loadConfig(AuthConfigSchema, { ...REQUIRED, CLOUDFLOW_SECRET_KEY: key() });
    expect(config.CLOUDFLOW_SECRET_KEY_PREVIOUS).toEqual([]);
  });
});
