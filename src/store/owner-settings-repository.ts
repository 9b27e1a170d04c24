import type { PrismaClient } from './database.js';

/** An owner's defaults; a null field is no default (the next level applies). */
export interface OwnerSettings {
  retentionDays: number | null;
  maxDurationSeconds: number | null;
  updatedAt: Date | null;
}

const noSettings: OwnerSettings = Object.freeze({ retentionDays: null, maxDurationSeconds: null, updatedAt: null });

/** Per-owner defaults (table `owner_settings`), read by triggers as runs are inserted and finished. */
export function createOwnerSettingsRepository(prisma: PrismaClient) {
  return {
    /** The owner's settings; an owner nobody set anything for has none (every field null). */
    async find(owner: string): Promise<OwnerSettings> {
      const row = await prisma.ownerSetting.findUnique({ where: { owner } });
      return row
        ? { retentionDays: row.retentionDays, maxDurationSeconds: row.maxDurationSeconds, updatedAt: row.updatedAt }
        : noSettings;
    },

    /**
     * Replaces the owner's settings. The expiry of the owner's finished runs that take their retention
     * from the owner or the server default is stamped again in the same transaction (naming
     * finished_at in the UPDATE fires the trigger that stamps it), so a new default reaches the runs
     * that finished before it. A run's time limit was fixed at its submission and stays.
     */
    async replace(owner: string, settings: Omit<OwnerSettings, 'updatedAt'>): Promise<OwnerSettings> {
      const [row] = await prisma.$transaction([
        prisma.ownerSetting.upsert({ where: { owner }, create: { owner, ...settings }, update: settings }),
        prisma.$executeRaw`
          UPDATE jobs SET finished_at = finished_at
          WHERE owner = ${owner} AND finished_at IS NOT NULL
            AND (retention_source IS NULL OR retention_source IN ('owner', 'server'))`,
      ]);
      return { retentionDays: row.retentionDays, maxDurationSeconds: row.maxDurationSeconds, updatedAt: row.updatedAt };
    },
  };
}

export type OwnerSettingsRepository = ReturnType<typeof createOwnerSettingsRepository>;
