import type { ComponentChildren } from 'preact';

// Form fields with the API's refusal beside them: a `400`'s issues name fields by path, and each
// shows under its field, which points at it (aria-describedby) and is marked invalid.

/** The messages of the issues about one field, joined; nothing without any. */
export function FieldError({
  id,
  path,
  messages,
}: {
  id: string;
  path: string;
  messages: readonly string[] | undefined;
}) {
  if (!messages) return null;
  return (
    <span class="field-error" id={id} data-path={path}>
      {messages.join('; ')}
    </span>
  );
}

/** The attributes of an input that has issues: invalid, described by its error. */
export const invalidAttributes = (errorId: string, messages: readonly string[] | undefined) =>
  messages ? { 'aria-invalid': true as const, 'aria-describedby': errorId } : {};

export interface FieldProps {
  /** The input's element id. */
  id: string;
  /** The path the API's issues name the field by. */
  path: string;
  label: string;
  /** The element id of its error. */
  errorId: string;
  messages: readonly string[] | undefined;
  /** The input, given its id and its invalid state. */
  children: (attributes: { id: string } & ReturnType<typeof invalidAttributes>) => ComponentChildren;
}

/** A labelled field with its issues beside it. */
export function Field({ id, path, label, errorId, messages, children }: FieldProps) {
  return (
    <div class={`field ${messages ? 'has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, ...invalidAttributes(errorId, messages) })}
      <FieldError id={errorId} path={path} messages={messages} />
    </div>
  );
}
