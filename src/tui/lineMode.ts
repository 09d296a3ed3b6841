import type { ChatConnection } from '../client/ChatConnection.js';
import { clock } from './clock.js';
import { describeState } from './components/Header.js';
import { ChatModel, type ViewLine } from './ChatModel.js';
import { parseCommand, runCommand } from './commands.js';
import { sanitizeName } from './sanitize.js';

/**
 * Line mode: one line per event on stdout, `[HH:MM:SS] #room <name> text`;
 * each stdin line is a message to the room shown (the first joined, or the one
 * the last /join asked for) or a /command. End of input, or the connection
 * closing for good, leaves every room and resolves with the exit code: 0, or 1
 * when messages were left unsent or the server refused the connection for good.
 * Scriptable, like the original CLI, and what the end-to-end tests drive through pipes.
 */
export async function lineMode(connection: ChatConnection, input: AsyncIterable<string>, output: NodeJS.WritableStream): Promise<number> {
  const model = new ChatModel(connection.identity);
  const print = (line: string) => output.write(`${line}\n`);
  const seen = new Map<string, number>(); // room → id of the last line printed
  let unsent = 0;
  let closedForGood: () => void = () => {};
  const closed = new Promise<void>((resolve) => (closedForGood = resolve));
  connection.subscribe((event) => {
    model.apply(event);
    if (event.type === 'unsent') unsent += event.count;
    if (event.type === 'state' && (event.state.kind !== 'closed' || event.state.reason)) {
      print(`[${clock(Date.now(), true)}] * ${describeState(event.state, Date.now())[0]}`);
    }
    if (event.type === 'state' && event.state.kind === 'closed') closedForGood();
    printNew();
  });

  /** Prints the lines each room (and the client itself) grew by, found from the end. */
  function printNew(): void {
    const groups: Array<[string, ViewLine[]]> = [...model.rooms].map(([name, room]) => [name, room.lines]);
    groups.push(['', model.system]);
    for (const [name, lines] of groups) {
      const printed = seen.get(name) ?? 0;
      let from = lines.length;
      while (from > 0 && lines[from - 1]!.id > printed) from -= 1;
      for (let i = from; i < lines.length; i++) print(format(name, lines[i]!));
      seen.set(name, lines.at(-1)?.id ?? printed);
    }
  }

  connection.start();
  const say = (text: string, kind?: 'notice' | 'error') => {
    model.say(text, kind);
    printNew();
  };
  // Reads until end of input, /quit, or the connection closing for good (nothing typed could go out).
  const lines = input[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([lines.next(), closed.then(() => undefined)]);
    if (next === undefined || next.done === true) break;
    const outcome = await runCommand(parseCommand(next.value), connection, model, say);
    if (outcome === 'quit') break;
  }
  void lines.return?.();
  await connection.close();
  const state = connection.state;
  return unsent > 0 || (state.kind === 'closed' && state.reason !== undefined) ? 1 : 0;
}

function format(room: string, line: ViewLine): string {
  const where = room === '' ? '*' : `#${sanitizeName(room)}`;
  const time = clock(line.at, true);
  switch (line.kind) {
    case 'message':
    case 'own':
      return `[${time}] ${where} <${line.sender}> ${line.text}`;
    case 'pending':
      return `[${time}] ${where} <${line.sender}> ${line.text} (sending)`;
    case 'error':
      return `[${time}] ${where} ! ${line.text}`;
    case 'notice':
      return `[${time}] ${where} * ${line.text}`;
  }
}
