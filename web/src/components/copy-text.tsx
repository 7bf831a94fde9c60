/**
 * Copy a piece of text (a link, a path) with the Clipboard API; where the browser refuses (no
 * permission, no secure context), the text is shown selected, to copy by hand.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface CopyTextProps {
  text: string;
  /** What the button says, and once copied (e.g. "Copy link", "Link copied"). */
  button: string;
  copied: string;
  /** The button's accessible name, and the hand-copy field's. */
  buttonLabel: string;
  fieldLabel: string;
}

export function CopyText({ text, button, copied, buttonLabel, fieldLabel }: CopyTextProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'manual'>('idle');
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (state === 'manual') field.current?.select();
  }, [state]);
  // Never rejects: a refusal shows the text to copy by hand.
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('manual');
    }
  };
  return (
    <span class="copy-link small">
      <button type="button" class="small secondary" onClick={() => void copy()} aria-label={buttonLabel}>
        {state === 'copied' ? copied : button}
      </button>
      {state === 'manual' ? (
        <>
          <input
            ref={field}
            class="link-field"
            type="text"
            readOnly
            value={text}
            aria-label={fieldLabel}
            onFocus={(e) => e.currentTarget.select()}
          />
          <span class="muted">Copy it with Ctrl+C (⌘C).</span>
        </>
      ) : null}
    </span>
  );
}
