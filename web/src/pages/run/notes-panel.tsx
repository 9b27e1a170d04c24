import type { Job } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';

/** What the run's owner wrote about it, shown as written, and an editor for keys that may write. */
export function NotesPanel({ job, write, onSaved }: { job: Job; write: boolean; onSaved: (job: Job) => void }) {
  const [draft, setDraft] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (!write && !job.notes) return null;

  const save = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    try {
      const notes = draft?.trim() ? draft : null;
      onSaved(await unwrap(api.PATCH('/jobs/{id}', { params: { path: { id: job.id } }, body: { notes } })));
      setDraft(null);
    } catch (failure) {
      setProblem(failureText(failure));
    }
  };

  return (
    <section aria-labelledby="notes-heading" class="notes-panel">
      <h2 id="notes-heading">Notes</h2>
      {draft === null ? (
        <>
          {job.notes ? <pre class="notes">{job.notes}</pre> : <p class="muted">No notes yet.</p>}
          {write && (
            <button type="button" onClick={() => setDraft(job.notes ?? '')}>
              Edit notes
            </button>
          )}
        </>
      ) : (
        <form onSubmit={(event) => void save(event)}>
          <label for="notes-editor">Notes (markdown, up to 10,000 characters)</label>
          <textarea
            id="notes-editor"
            name="notes"
            rows={6}
            maxLength={10_000}
            value={draft}
            onInput={(event) => setDraft((event.target as HTMLTextAreaElement).value)}
          />
          <button type="submit">Save notes</button>{' '}
          <button type="button" onClick={() => setDraft(null)}>
            Discard
          </button>
          {problem && (
            <p class="error" role="alert">
              {problem}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
