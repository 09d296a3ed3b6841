/**
 * Typed or pasted text without C0/C1 controls and DEL: what a key press leaves
 * behind (an escape sequence Ink did not parse) must not end up in a message.
 */
export function stripControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}
