import type { PrismaClient } from '../database.js';

/** What PATCH /jobs/:id may change of a run; absent fields stay as they are, null clears a name or notes. */
export interface JobEdit {
  name?: string | null;
  tags?: string[];
  notes?: string | null;
  pinned?: boolean;
}

/** Changing what a run says about itself, after it was submitted. */
export interface JobEditsRepository {
  /** Applies `edit` and records the time; false when there is no such job (with `owner`: of that owner). */
  editJob: (id: string, edit: JobEdit, owner?: string) => Promise<boolean>;
}

async function editJob(prisma: PrismaClient, id: string, edit: JobEdit, owner?: string): Promise<boolean> {
  const data = {
    ...(edit.name === undefined ? {} : { name: edit.name }),
    ...(edit.tags === undefined ? {} : { tags: edit.tags }),
    ...(edit.notes === undefined ? {} : { notes: edit.notes }),
    ...(edit.pinned === undefined ? {} : { pinned: edit.pinned }),
    updatedAt: new Date(),
  };
  const updated = await prisma.job.updateMany({ where: { id, ...(owner === undefined ? {} : { owner }) }, data });
  return updated.count === 1;
}

export function createJobEditsRepository(prisma: PrismaClient): JobEditsRepository {
  return { editJob: (id, edit, owner) => editJob(prisma, id, edit, owner) };
}
