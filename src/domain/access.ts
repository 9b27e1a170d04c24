/**
 * Who may do what. A request acts as a `Viewer`: an owner and a role. Routes declare the access
 * they need; the API's access-control plugin is the one place that compares the two.
 */

export const roles = ['viewer', 'member', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * What a route needs: `public` nothing at all; `read` any key (what it shows is limited to the
 * key's owner); `write` a member or an admin; `admin` an admin.
 */
export const accessLevels = ['public', 'read', 'write', 'admin'] as const;
export type Access = (typeof accessLevels)[number];

/** The owner and role a request acts as. */
export interface Viewer {
  owner: string;
  role: Role;
}

/** Owner names: short, printable, no separators that could make a composed key ambiguous. */
export const ownerPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The owner of everything created while AUTH=off, and of every job from before access control. */
export const localOwner = 'local';

/** The viewer of every request while AUTH=off: it may do everything, as the server did before. */
export const localViewer: Viewer = Object.freeze({ owner: localOwner, role: 'admin' });

/** Whether a role may use a route that needs `access`. */
export function roleAllows(role: Role, access: Access): boolean {
  if (access === 'public' || access === 'read') return true;
  if (access === 'write') return role === 'member' || role === 'admin';
  return role === 'admin';
}

/** The owner whose resources a viewer sees, or undefined when it sees every owner's (an admin). */
export function visibleOwner(viewer: Viewer): string | undefined {
  return viewer.role === 'admin' ? undefined : viewer.owner;
}
