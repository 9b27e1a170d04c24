import { unwrap } from '@trainer/client';
import type { Context } from '../context.js';
import { table } from '../table.js';

/** `trainer keys create --owner O --role R --name N`: the new key is shown this once. */
export async function createKey(
  { trainer, output }: Context,
  options: { owner: string; role: string; name: string },
): Promise<void> {
  // The server checks owner, role and name and names a bad one.
  const body = options as { owner: string; role: 'viewer' | 'member' | 'admin'; name: string };
  const key = await unwrap(trainer.api.POST('/keys', { body }));
  output.result(key, `${key.key}\n(id ${key.id}, ${key.role} of ${key.owner}: shown only now, keep it)`);
}

/** `trainer keys ls`. */
export async function listKeys({ trainer, output }: Context): Promise<void> {
  const answer = await unwrap(trainer.api.GET('/keys'));
  const rows = answer.keys.map((key) => [key.id, key.owner, key.role, key.name, key.created, key.lastUsed ?? '-']);
  output.result(answer, table(output, ['id', 'owner', 'role', 'name', 'created', 'last used'], rows));
}

/** `trainer keys revoke ID`. */
export async function revokeKey({ trainer, output }: Context, id: string): Promise<void> {
  await unwrap(trainer.api.DELETE('/keys/{id}', { params: { path: { id } } }));
  output.result({ revoked: id }, `revoked ${id}`);
}

/** `trainer whoami`: the owner and role the key acts as. */
export async function whoami({ trainer, output }: Context): Promise<void> {
  const who = await unwrap(trainer.api.GET('/whoami'));
  output.result(
    who,
    who.auth === 'off' ? 'the server checks no keys: every request acts as admin' : `${who.owner} (${who.role})`,
  );
}
