import { stripControls } from './stripControls.js';

/**
 * What one input chunk holds, line by line: a paste, or keys sent faster than
 * they are read (`tmux send-keys "Bob" Enter`), can carry several lines and
 * their Enters at once. Every line but the last was ended by a line break (a
 * pasted LINE SEPARATOR or PARAGRAPH SEPARATOR too: the server refuses them);
 * tabs become spaces and controls are dropped.
 */
export function typedLines(input: string): string[] {
  return input.replace(/\t/g, ' ').split(/\r\n|\r|\n|\u2028|\u2029/).map(stripControls);
}
