import { z } from 'zod';
import { pageSchema } from '../pipelines/pipeline';
import { SCOPES } from './principal';

/** Body of `POST /api/v1/users`: a person who signs in through OAuth. */
export const CreateUserRequestSchema = z.strictObject({
  /** Unique across CloudFlow: it is what the sign-in page asks for. */
  username: z
    .string()
    .trim()
    .min(3)
    .max(100)
    .regex(/^[A-Za-z0-9._@+-]+$/, {
      message: 'may contain letters, digits and . _ @ + - only',
    }),
  password: z
    .string()
    .min(12, { message: 'must be at least 12 characters' })
    .max(256, { message: 'must be at most 256 characters' }),
  /** What the user may grant to applications; defaults to read and write. */
  scopes: z.array(z.enum(SCOPES)).min(1).max(3).optional(),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>;

/** A user as the API shows it: never the password or its hash. */
export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  createdAt: z.string(),
});
export type User = z.infer<typeof UserSchema>;

export const UserPageSchema = pageSchema(UserSchema);

/**
 * An Argon2id hash in PHC form. The gateway hashes a new password before it
 * travels, so auth only ever receives this.
 */
export const PasswordHashSchema = z
  .string()
  .max(512)
  .regex(/^\$argon2id\$v=19\$[mtp]=\d+(,[mtp]=\d+){2}\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);

/**
 * Argon2id cost, OWASP's minimum: 19 MiB of memory, two passes, one lane.
 * The gateway hashes new passwords with it; auth verifies with whatever
 * cost a stored hash names, so raising it later needs no migration.
 */
export const PASSWORD_HASH_COST = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
