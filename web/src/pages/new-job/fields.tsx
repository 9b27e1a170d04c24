import { Field, FieldError } from '../../components/field';
import type { FormState } from './form-state';
import type { Issues } from './issues';

/** The issues of `path`, shown where the form puts them: `<path>-error`. */
export const PathError = ({ path, issues }: { path: string; issues: Issues }) => (
  <FieldError id={`${path}-error`} path={path} messages={issues.get(path)} />
);

type TextKey = Exclude<keyof FormState, 'layers' | 'kept' | 'optimizer'>;

export interface FieldContext {
  form: FormState;
  issues: Issues;
  set(id: keyof FormState, value: string): void;
}

/** A text field of the form's top level, named as the spec names it. */
export function TextField(
  props: FieldContext & { id: TextKey; label: string; hint?: string; inputMode?: 'numeric' | 'decimal' },
) {
  const { id, form, issues } = props;
  return (
    <Field id={`field-${id}`} path={id} label={props.label} errorId={`${id}-error`} messages={issues.get(id)}>
      {(attributes) => (
        <input
          {...attributes}
          name={id}
          value={form[id]}
          inputMode={props.inputMode}
          placeholder={props.hint}
          onInput={(event) => props.set(id, event.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/** A choice among `options` of the form's top level. */
export function SelectField(
  props: FieldContext & { id: 'dataset' | 'optimizer'; label: string; options: readonly string[] },
) {
  const { id, form, issues } = props;
  return (
    <Field id={`field-${id}`} path={id} label={props.label} errorId={`${id}-error`} messages={issues.get(id)}>
      {(attributes) => (
        <select id={attributes.id} value={form[id]} onChange={(event) => props.set(id, event.currentTarget.value)}>
          {props.options.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      )}
    </Field>
  );
}
