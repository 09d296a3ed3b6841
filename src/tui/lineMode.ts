import type { ChatConnection } from '../client/ChatConnection.js';
import { describeState } from './components/Header.js';
import { ChatModel, type ViewLine } from './ChatModel.js';
import { parseCommand, runCommand } from './commands.js';
import { sanitizeName } from './sanitize.js';

/**
 * Line mode: one line per event on stdout, `[HH:MM:SS] #room <name> text`;
 * each stdin line is a message to the current room (the last one joined) or a
 * /command. End of input leaves every room and resolves. Scriptable, like the
 * original CLI, and what the end-to-end tests drive through pipes.
 */
export async function lineMode(connection: ChatConnection, input: AsyncIterable<string>, output: NodeJS.WritableStream): Promise<void> {
  const model = new ChatModel(connection.identity);
  const print = (line: string) => output.write(`${line}\n`);
  const seen = new Map<string, number>(); // room → lines already printed
  connection.subscribe((event) => {
    model.apply(event);
    if (event.type === 'state' && (event.state.kind !== 'closed' || event.state.reason)) {
      print(`[${stamp(Date.now())}] * ${describeState(event.state, Date.now())[0]}`);
    }
    printNew();
  });

  /** Prints the lines each room (and the client itself) grew by. */
  function printNew(): void {
    const groups: Array<[string, ViewLine[]]> = [...model.rooms].map(([name, room]) => [name, room.lines]);
    groups.push(['', model.system]);
    for (const [name, lines] of groups) {
      const last = lines.at(-1)?.id ?? 0;
      const printed = seen.get(name) ?? 0;
      for (const line of lines) if (line.id > printed) print(format(name, line));
      seen.set(name, last);
    }
  }

  connection.start();
  const say = (text: string, kind?: 'notice' | 'error') => {
    model.say(text, kind);
    printNew();
  };
  for await (const line of input) {
    const outcome = await runCommand(parseCommand(line), connection, model, say);
    if (outcome === 'quit') break;
  }
  await connection.close();
}

function format(room: string, line: ViewLine): string {
  const where = room === '' ? '*' : `#${sanitizeName(room)}`;
  const time = stamp(line.at);
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

/** HH:MM:SS, local time. */
function stamp(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
