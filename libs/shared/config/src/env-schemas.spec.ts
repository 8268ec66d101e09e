import { randomBytes } from 'node:crypto';
import { SecretKeyEnvSchema } from './env-schemas';
import { ConfigError, loadConfig } from './load-config';

const key = () => randomBytes(32).toString('base64');

function problemsOf(vars: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(SecretKeyEnvSchema, vars);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('SecretKeyEnvSchema', () => {
  it('requires CLOUDFLOW_SECRET_KEY and has no previous keys by default', () => {
    const current = key();
    expect(loadConfig(SecretKeyEnvSchema, { CLOUDFLOW_SECRET_KEY: current })).toEqual({
      CLOUDFLOW_SECRET_KEY: current,
      CLOUDFLOW_SECRET_KEY_PREVIOUS: [],
    });
    expect(
      loadConfig(SecretKeyEnvSchema, {
        CLOUDFLOW_SECRET_KEY: current,
        CLOUDFLOW_SECRET_KEY_PREVIOUS: '',
      }),
    ).toMatchObject({ CLOUDFLOW_SECRET_KEY_PREVIOUS: [] });
    expect(problemsOf({})).toEqual(['CLOUDFLOW_SECRET_KEY: required but not set']);
  });

  it('splits CLOUDFLOW_SECRET_KEY_PREVIOUS at commas, ignoring spaces and empty entries', () => {
    const [a, b] = [key(), key()];
    const config = loadConfig(SecretKeyEnvSchema, {
      CLOUDFLOW_SECRET_KEY: key(),
      CLOUDFLOW_SECRET_KEY_PREVIOUS: ` ${a} ,${b},`,
    });
    expect(config.CLOUDFLOW_SECRET_KEY_PREVIOUS).toEqual([a, b]);
  });

  it('names a previous key that is not 32 bytes by its position, never by its value', () => {
    const short = randomBytes(16).toString('base64');
    const problems = problemsOf({
      CLOUDFLOW_SECRET_KEY: key(),
      CLOUDFLOW_SECRET_KEY_PREVIOUS: `${key()},${short}`,
    });
    expect(problems).toEqual([
      'CLOUDFLOW_SECRET_KEY_PREVIOUS: key 2 of 2 must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });

  it('checks CLOUDFLOW_SECRET_KEY the same way without quoting it', () => {
    const short = randomBytes(31).toString('base64');
    const problems = problemsOf({ CLOUDFLOW_SECRET_KEY: short });
    expect(problems).toEqual([
      'CLOUDFLOW_SECRET_KEY: must be 32 random bytes, base64-encoded (openssl rand -base64 32)',
    ]);
    expect(problems.join('\n')).not.toContain(short);
  });
});
