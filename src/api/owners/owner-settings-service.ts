import type { Viewer } from '../../domain/access.js';
import { visibleOwner } from '../../domain/access.js';
import { ResourceNotFound } from '../../domain/errors.js';
import type { OwnerSettings, OwnerSettingsRepository } from '../../store/owner-settings-repository.js';
import { guardStore } from '../http/store-guard.js';
import type { OwnerSettingsBody, OwnerSettingsView } from './schemas.js';

const view = (owner: string, settings: OwnerSettings): OwnerSettingsView => ({
  owner,
  retentionDays: settings.retentionDays,
  maxDurationSeconds: settings.maxDurationSeconds,
  updatedAt: settings.updatedAt?.toISOString() ?? null,
});

/**
 * GET and PUT /owners/:owner/settings. A key reads its own owner's; another owner's looks as if it
 * did not exist (404), as other owners' jobs do. Only an admin writes (the route's access).
 */
export function createOwnerSettingsService(deps: { settings: OwnerSettingsRepository }) {
  const settings = guardStore(deps.settings);
  return {
    async get(viewer: Viewer, owner: string): Promise<OwnerSettingsView> {
      const visible = visibleOwner(viewer);
      if (visible !== undefined && visible !== owner) throw new ResourceNotFound(`owner ${owner} was not found`);
      return view(owner, await settings.find(owner));
    },
    async replace(owner: string, body: OwnerSettingsBody): Promise<OwnerSettingsView> {
      return view(owner, await settings.replace(owner, body));
    },
  };
}

export type OwnerSettingsService = ReturnType<typeof createOwnerSettingsService>;
