import * as argon2 from 'argon2';
import { CreateUserRequestSchema, PASSWORD_HASH_COST, PasswordHashSchema } from './users';

describe('PasswordHashSchema', () => {
  it('accepts what the gateway produces for a new password', async () => {
    const hash = await argon2.hash('correct horse battery', {
      type: argon2.argon2id,
      ...PASSWORD_HASH_COST,
    });
    expect(PasswordHashSchema.safeParse(hash).success).toBe(true);
  });

  it.each([
    ['a plaintext password', 'correct horse battery'],
    ['an Argon2i hash', '$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g'],
    ['a bcrypt hash', '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'],
  ])('refuses %s', (_label, value) => {
    expect(PasswordHashSchema.safeParse(value).success).toBe(false);
  });
});

describe('CreateUserRequestSchema', () => {
  it('refuses a password shorter than 12 characters, saying so', () => {
    const result = CreateUserRequestSchema.safeParse({ username: 'ada', password: 'short' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be at least 12 characters');
  });

  it('refuses a username with spaces or markup', () => {
    for (const username of ['ada lovelace', '<script>', 'a']) {
      expect(
        CreateUserRequestSchema.safeParse({ username, password: 'x'.repeat(12) }).success,
      ).toBe(false);
    }
  });
});
