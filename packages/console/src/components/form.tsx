/** Form pieces shared by the console's pages: labelled controls, a submit action, the buttons row. */
import { type ComponentPropsWithRef, type FormEvent, type ReactNode, useState } from "react";
import { ErrorNote, errorParam, Field } from "./ui.tsx";

/** What a labelled control is given besides its own attributes. */
interface FieldProps {
  id: string;
  label: string;
  /** The API's message for this field: shown under it, and the control is marked invalid. */
  error?: string | null;
  hint?: ReactNode;
}

/** The control's side of Field's error line: marked invalid and described by it. */
function invalidAria(id: string, error: string | null | undefined) {
  return error ? { "aria-invalid": true as const, "aria-describedby": `${id}-error` } : {};
}

/** A labelled text box (Field + input). */
export function TextField({ id, label, error, hint, ...input }: FieldProps & ComponentPropsWithRef<"input">) {
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      <input id={id} {...invalidAria(id, error)} {...input} />
    </Field>
  );
}

export type Choice = string | number | { value: string | number; label: string };

/** A labelled select (Field + select) over `options`: plain values, or values with their labels. */
export function SelectField({
  id,
  label,
  error,
  hint,
  options,
  ...select
}: FieldProps & { options: readonly Choice[] } & ComponentPropsWithRef<"select">) {
  return (
    <Field label={label} htmlFor={id} error={error} hint={hint}>
      <select id={id} {...invalidAria(id, error)} {...select}>
        {options.map((choice) => {
          const { value, label: text } =
            typeof choice === "object" ? choice : { value: choice, label: choice };
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </Field>
  );
}

/** A fieldset-wide error line (for a group of controls the API names as one field). */
export function GroupError({ field, message }: { field: string; message: string | null }) {
  return message ? (
    <div className="field-error" role="alert" data-field-error={field}>
      {message}
    </div>
  ) : null;
}

export interface Action<A extends unknown[]> {
  /** Runs the action: clears the last error, is busy until it settles, keeps what it threw. */
  run(...args: A): Promise<void>;
  busy: boolean;
  error: unknown;
}

/** An async action (a submit, a rotation, a mode change) with its busy flag and its error. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<void>): Action<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error };
}

/** A form's onSubmit that stays on the page and runs `run`. */
export function submitWith(run: () => Promise<void>) {
  return (event: FormEvent) => {
    event.preventDefault();
    void run();
  };
}

export interface FormErrors<F extends string> {
  /** The message for `name`, when the API named it. */
  on(name: F): string | null;
  /** A labelled control's `id` and `error` for the field `name`. */
  field(name: F): { id: F; error: string | null };
  /** The error when it names no field of this form (shown above the buttons). */
  general: unknown;
}

/**
 * A form's submit error, split into the field the API's `param` names (shown on that field) and
 * anything else. `fieldOf` maps a param to one of the form's field ids.
 */
export function formErrors<F extends string>(
  error: unknown,
  fieldOf: (param: string) => F | undefined,
): FormErrors<F> {
  const param = errorParam(error);
  const field = param ? fieldOf(param) : undefined;
  const on = (name: F) => (field === name && error instanceof Error ? error.message : null);
  return { on, field: (name) => ({ id: name, error: on(name) }), general: field ? null : error };
}

/** The end of a form: its error (titled), the submit button, a cancel/close button, a status line. */
export function FormActions({
  error,
  errorTitle,
  busy,
  submit,
  busySubmit,
  disabled = false,
  cancel = "Cancel",
  onCancel,
  status,
}: {
  error: unknown;
  errorTitle: string;
  busy: boolean;
  /** The submit button's text, and its text while busy. */
  submit: string;
  busySubmit: string;
  disabled?: boolean;
  cancel?: string;
  onCancel(): void;
  /** A polite status line after the buttons (what the last submit did). */
  status?: string;
}) {
  return (
    <>
      <ErrorNote error={error} title={errorTitle} />
      <div className="page-actions">
        <button type="submit" disabled={busy || disabled}>
          {busy ? busySubmit : submit}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {cancel}
        </button>
        {status === undefined ? null : <span role="status">{status}</span>}
      </div>
    </>
  );
}

/** The "Remove" button of one row in an editable list (shown only while more than one row is left). */
export function RemoveRowButton({ label, onRemove }: { label: string; onRemove(): void }) {
  return (
    <button type="button" className="secondary" onClick={onRemove} aria-label={label}>
      Remove
    </button>
  );
}
