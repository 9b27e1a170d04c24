import { z } from 'zod';
import { ownerPattern, roles } from '../../domain/access.js';
import { isoTime } from '../http/common-schemas.js';

export const owner = z
  .string()
  .regex(ownerPattern, '1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .meta({ description: 'Who owns what a key creates', examples: ['alice'] });

export const role = z.enum(roles).meta({
  description: 'viewer: reads its owner’s; member: also submits, cancels and deletes its owner’s; admin: everything',
});

export const newKeyBody = z
  .object({
    owner,
    role,
    name: z
      .string()
      .min(1)
      .max(100)
      .meta({ description: 'What the key is for', examples: ['laptop'] }),
  })
  .strict();

export const apiKeyView = z
  .object({
    id: z.uuid(),
    owner: z.string(),
    role,
    name: z.string(),
    created: isoTime,
    lastUsed: isoTime.nullable().describe('Updated at most once a minute'),
  })
  .meta({ id: 'ApiKey' });

export const createdKey = apiKeyView
  .extend({ key: z.string().describe('The key itself: shown only in this answer, never again') })
  .meta({ id: 'CreatedApiKey' });

export const keyList = z.object({ keys: z.array(apiKeyView) });

export const keyIdParams = z.object({ id: z.string().max(100) });

export const whoami = z
  .object({
    owner: z.string(),
    role,
    auth: z.enum(['off', 'required']).describe('off: no keys are checked and every request acts as admin'),
  })
  .meta({ id: 'Whoami' });
