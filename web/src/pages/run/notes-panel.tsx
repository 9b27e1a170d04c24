import type { Job } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { MarkdownText } from '../../components/markdown-text';

type Edit = { notes?: string | null; pinned?: boolean };

/** The notes' editor, with the draft rendered below it: saves the draft (empty clears the notes) or discards it. */
function NotesEditor(props: { draft: string; setDraft: (draft: string | null) => void; save: (edit: Edit) => void }) {
  const { draft, setDraft, save } = props;
  const submit = (event: Event) => {
    event.preventDefault();
    save({ notes: draft.trim() ? draft : null });
  };
  return (
    <form onSubmit={submit}>
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
      {draft.trim() && (
        <div class="notes-preview" aria-label="Preview of the notes" role="region">
          <p class="small muted">Preview</p>
          <MarkdownText source={draft} class="notes" />
        </div>
      )}
    </form>
  );
}

/** What the run's owner wrote about it, rendered from markdown, and (for keys that may write) its editor and pin. */
export function NotesPanel({ job, write, onSaved }: { job: Job; write: boolean; onSaved: (job: Job) => void }) {
  const [draft, setDraft] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (!write && !job.notes) return null;

  const edit = async (body: Edit) => {
    setProblem(null);
    try {
      onSaved(await unwrap(api.PATCH('/jobs/{id}', { params: { path: { id: job.id } }, body })));
      setDraft(null);
    } catch (failure) {
      setProblem(failureText(failure));
    }
  };

  return (
    <section aria-labelledby="notes-heading" class="notes-panel">
      <h2 id="notes-heading">Notes</h2>
      {draft !== null && <NotesEditor draft={draft} setDraft={setDraft} save={(body) => void edit(body)} />}
      {draft === null &&
        (job.notes ? <MarkdownText source={job.notes} class="notes" /> : <p class="muted">No notes yet.</p>)}
      {draft === null && write && (
        <p>
          <button type="button" onClick={() => setDraft(job.notes ?? '')}>
            Edit notes
          </button>{' '}
          <button type="button" aria-pressed={job.pinned} onClick={() => void edit({ pinned: !job.pinned })}>
            {job.pinned ? 'Unpin' : 'Pin'}
          </button>
        </p>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}
