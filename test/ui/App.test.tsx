import { afterEach, describe, expect, it } from '@jest/globals';
import stringWidth from 'string-width';
import { ChatConnection } from '../../src/client/ChatConnection.js';
import type { Identity } from '../../src/client/ChatSession.js';
import type { EventLog } from '../helpers/EventLog.js';
import { TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

// Colours on, to see that errors are red: chalk reads FORCE_COLOR once, when Ink
// first loads, so Ink and everything that imports it are loaded after setting it.
const forceColor = process.env.FORCE_COLOR;
process.env.FORCE_COLOR = '1';
const { render } = await import('ink-testing-library');
const { App } = await import('../../src/tui/components/App.js');
if (forceColor === undefined) delete process.env.FORCE_COLOR;
else process.env.FORCE_COLOR = forceColor;

/** Fast retries so the tests wait milliseconds, not the product's seconds. */
const quick = { initialMs: 50, multiplier: 2, maxMs: 400, jitter: 0.2 };

const KEY = {
  enter: '\r',
  tab: '\t',
  shiftTab: '\u001B[Z',
  up: '\u001B[A',
  down: '\u001B[B',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  ctrlC: '\u0003',
};

const SGR = /\x1b\[[\d;]*m/g;
/** The frame without colour codes. */
const plain = (frame: string | undefined) => (frame ?? '').replace(SGR, '');

let cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

interface Started {
  t: TestServer;
  connection: ChatConnection;
  ui: ReturnType<typeof render>;
  quits: number[];
  /** The last frame, without colours. */
  screen: () => string;
  /** Waits until the screen satisfies `predicate`; returns it. */
  until: (predicate: (screen: string) => boolean, what: string, timeoutMs?: number) => Promise<string>;
  /** Writes keys or text to the App's stdin. */
  press: (...keys: string[]) => void;
  /** Types a line and presses Enter. */
  submit: (line: string) => void;
}

/**
 * A real server, a real ChatConnection in `rooms`, and the App rendered on it,
 * once its first room is joined (so that keys are taken).
 */
async function start({
  rooms = ['lobby'],
  identity = { userId: 'alice', displayName: 'Alice' },
  before = [],
}: {
  rooms?: string[];
  identity?: Identity;
  /** Addresses to try before the server's. */
  before?: string[];
} = {}): Promise<Started> {
  const t = await TestServer.start();
  cleanups.push(() => t.stop());
  const connection = new ChatConnection({ address: [...before, t.address], identity, history: 50, backoff: quick });
  for (const room of rooms) connection.join(room);
  const quits: number[] = [];
  const ui = render(<App connection={connection} onQuit={() => quits.push(Date.now())} />);
  cleanups.push(async () => {
    ui.unmount();
    await connection.close(500);
  });
  const screen = () => plain(ui.lastFrame());
  const until = (predicate: (s: string) => boolean, what: string, timeoutMs = 5000) =>
    waitFor(() => predicate(screen()) && screen(), { what: `${what}; last frame:\n${screen()}`, timeoutMs });
  const press = (...keys: string[]) => {
    for (const key of keys) ui.stdin.write(key);
  };
  const submit = (line: string) => press(line, KEY.enter);
  const first = rooms[0];
  if (first !== undefined) await until((s) => s.includes('● connected') && s.includes(`Welcome to #${first}`), `#${first} joined`);
  return { t, connection, ui, quits, screen, until, press, submit };
}

/** The input line: the second row from the bottom. */
const inputRow = (screen: string) => screen.split('\n').at(-2) ?? '';
const rowWith = (screen: string, text: string) => screen.split('\n').find((row) => row.includes(text));

describe('App against a real server', () => {
  it('fills the terminal: 100 columns (ink-testing-library) and 24 rows when the size is unknown', async () => {
    const { screen } = await start();
    const rows = screen().split('\n');
    expect(rows).toHaveLength(24);
    for (const row of rows) expect(stringWidth(row)).toBeLessThanOrEqual(100);
    expect(rows[0]).toMatch(/^chat-grpc 127\.0\.0\.1:\d+ ● connected as Alice \(@alice\)/);
    expect(screen()).toContain('Rooms');
    expect(screen()).toContain('Members (1)');
    expect(screen()).toContain('Alice (you)');
    expect(inputRow(screen())).toMatch(/^#lobby > /);
  });

  it('sends what is typed, key by key, on Enter; others see it and so does the sender', async () => {
    const { t, press, until, screen } = await start();
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob' }, 'lobby');
    await until((s) => s.includes('Bob joined'), 'Bob’s join');
    for (const char of 'hello from alice') press(char);
    await until((s) => inputRow(s).includes('hello from alice'), 'the draft');
    press(KEY.enter);
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'hello from alice', 'Alice’s message at Bob');
    await until((s) => /\d\d:\d\d Alice hello from alice/.test(s), 'Alice’s own copy');
    expect(inputRow(screen())).not.toContain('hello from alice');
  });

  it('shows what others say, names and wide characters within the screen', async () => {
    const { t, until, ui } = await start();
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob 🎸' }, 'lobby');
    // (The server refuses the zero-width joiner in content, so no emoji sequences here.)
    bob.session.send('lobby', `漢字 🎉 ${'wide text '.repeat(20)}`);
    const s = await until((s) => s.includes('Bob 🎸 漢字 🎉'), 'Bob’s message');
    expect(s).toContain('Bob 🎸 joined');
    expect(s).toContain('Members (2)');
    for (const frame of ui.frames) for (const row of plain(frame).split('\n')) expect(stringWidth(row)).toBeLessThanOrEqual(100);
  });

  it('sends a pasted chunk with line breaks as one message per line', async () => {
    const { t, press } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    press('one\rtwo\r');
    await bob.waitForCount((e) => e.type === 'message', 2, 'messages');
    expect(bob.contents('lobby')).toEqual(['one', 'two']);
  });

  it('a pasted LINE SEPARATOR or PARAGRAPH SEPARATOR breaks the line too; joiners and emoji sequences are sent as typed', async () => {
    const { t, press } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    press('one\u2028two\u2029three\r');
    press('hi 👩‍👩‍👧 می‌خواهم 🏴󠁧󠁢󠁳󠁣󠁴󠁿\r');
    await bob.waitForCount((e) => e.type === 'message', 4, 'messages');
    expect(bob.contents('lobby')).toEqual(['one', 'two', 'three', 'hi 👩‍👩‍👧 می‌خواهم 🏴󠁧󠁢󠁳󠁣󠁴󠁿']);
  });

  it('/join adds the room, shows it, and messages go there', async () => {
    const { t, submit, until, screen } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'annex');
    submit('/join annex');
    await until((s) => s.includes('›#annex') && s.includes('Welcome to #annex'), '#annex shown');
    expect(screen()).toContain(' #lobby');
    expect(inputRow(screen())).toMatch(/^#annex > /);
    expect(screen()).toContain('Members (2)');
    submit('in the annex');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'in the annex', 'the message in #annex');
  });

  it('Tab shows the next room and Shift+Tab the previous one, wrapping around', async () => {
    const { press, until } = await start({ rooms: ['lobby', 'annex', 'cellar'] });
    await until((s) => s.includes('#cellar'), 'all three rooms');
    await until((s) => s.includes('›#lobby'), '#lobby shown');
    press(KEY.tab);
    await until((s) => s.includes('›#annex') && inputRow(s).startsWith('#annex > '), '#annex after Tab');
    press(KEY.tab);
    await until((s) => s.includes('›#cellar'), '#cellar after a second Tab');
    press(KEY.tab);
    await until((s) => s.includes('›#lobby'), '#lobby again after a third Tab');
    press(KEY.shiftTab);
    await until((s) => s.includes('›#cellar'), '#cellar after Shift+Tab');
    press(KEY.shiftTab);
    await until((s) => s.includes('›#annex') && s.includes('Welcome to #annex'), '#annex after another Shift+Tab');
  });

  it('counts unread messages of rooms not shown, until they are shown', async () => {
    const { t, press, until } = await start({ rooms: ['lobby', 'annex'] });
    await until((s) => s.includes('#annex'), 'both rooms');
    const bob = await t.joined({ userId: 'bob' }, 'annex');
    bob.session.send('annex', 'one');
    bob.session.send('annex', 'two');
    await until((s) => /#annex 2\b/.test(s), 'two unread in #annex');
    press(KEY.tab);
    const s = await until((s) => s.includes('›#annex'), '#annex shown');
    expect(s).not.toMatch(/#annex \d/);
    expect(s).toMatch(/Bob|bob/);
  });

  it('/who, /help and /rooms print what they say', async () => {
    const { t, submit, until } = await start();
    await t.joined({ userId: 'bob', displayName: 'Bob' }, 'lobby');
    await until((s) => s.includes('Members (2)'), 'Bob in the members');
    submit('/who');
    await until((s) => s.includes('2 in #lobby: Alice, Bob'), '/who');
    submit('/help');
    await until((s) => s.includes('/join ROOM') && s.includes('/quit') && s.includes('/rooms'), '/help');
    submit('/rooms');
    await until((s) => s.includes('1 room on the server:') && /#lobby: 2 members, \d+ events/.test(s), '/rooms');
  });

  it('an unknown command is answered with an error, nothing is sent', async () => {
    const { t, submit, until } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    submit('/frobnicate now');
    await until((s) => s.includes('! unknown command /frobnicate: /help lists them'), 'the error');
    submit('//frobnicate is a word');
    await bob.waitFor((e) => e.type === 'message', 'the escaped slash message');
    expect(bob.contents('lobby')).toEqual(['/frobnicate is a word']);
  });

  it('Up and Down walk through what was typed before', async () => {
    const { submit, press, until } = await start();
    submit('first line');
    submit('second line');
    await until((s) => s.includes('Alice second line'), 'both sent');
    press(KEY.up);
    await until((s) => inputRow(s).startsWith('#lobby > second line'), 'the last input recalled');
    press(KEY.up);
    await until((s) => inputRow(s).startsWith('#lobby > first line'), 'the one before');
    press(KEY.up);
    await until((s) => inputRow(s).startsWith('#lobby > first line'), 'still the oldest');
    press(KEY.down);
    await until((s) => inputRow(s).startsWith('#lobby > second line'), 'forward again');
    press(KEY.down);
    await until((s) => !inputRow(s).includes('line'), 'an empty draft past the newest');
  });

  it('Backspace and Escape edit the draft', async () => {
    const { press, until } = await start();
    press('typo!!');
    await until((s) => inputRow(s).includes('typo!!'), 'the draft');
    press('\u007F', '\u007F');
    await until((s) => inputRow(s).startsWith('#lobby > typo') && !inputRow(s).includes('!'), 'two characters erased');
    press('\u001B');
    await until((s) => !inputRow(s).includes('typo'), 'the draft cleared');
  });

  it('PgUp scrolls back through a busy room and PgDn comes back', async () => {
    const { t, press, until } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    for (let i = 0; i < 40; i++) bob.session.send('lobby', `busy ${i}`);
    await until((s) => s.includes('busy 39') && s.includes('(PgUp for more)'), 'the newest message');
    press(KEY.pageUp);
    const back = await until((s) => s.includes('rows back (PgDn)'), 'scrolled back');
    expect(back).not.toContain('busy 39');
    expect(back).toMatch(/↑ 17 rows back/); // 24 rows: a page is the body (21) less 4
    press(KEY.pageDown);
    await until((s) => s.includes('busy 39') && !s.includes('rows back'), 'back at the newest');
  });

  it('marks one room as shown when two long room names look the same once cut', async () => {
    const prefix = 'r'.repeat(40);
    // Joined after the start: a welcome this long is wrapped, so start() could not wait for it.
    const { connection, until } = await start({ rooms: [] });
    connection.join(`${prefix}-one`);
    connection.join(`${prefix}-two`);
    const s = await until((s) => s.split('\n').filter((row) => row.includes('#rrr')).length >= 2, 'both rooms in the rooms pane');
    expect(s.split('\n').filter((row) => row.includes('›'))).toHaveLength(1);
  });

  it('PgUp stops at the oldest line, so one PgDn after paging past the top comes back at once', async () => {
    const { t, press, until } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    for (let i = 0; i < 30; i++) bob.session.send('lobby', `busy ${i}`);
    await until((s) => s.includes('busy 29') && s.includes('(PgUp for more)'), 'the newest message');
    for (let i = 0; i < 5; i++) press(KEY.pageUp);
    const top = await until((s) => s.includes('Welcome to #lobby'), 'the top of the room');
    // Less than a page (17 rows) back, though five pages were asked for: one PgDn is enough.
    expect(Number(/↑ (\d+) rows back/.exec(top)?.[1])).toBeLessThan(17);
    press(KEY.pageDown);
    await until((s) => s.includes('busy 29') && !s.includes('rows back'), 'back at the newest after one PgDn');
  });

  it('shows a join the server refuses as a red error line, and typing goes on in the room shown', async () => {
    const { t, submit, until, ui } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    const tooLong = 'r'.repeat(70); // rooms are at most 64 characters
    submit(`/join ${tooLong}`);
    const s = await until((s) => s.includes('INVALID_ROOM'), 'the refusal');
    expect(rowWith(s, 'INVALID_ROOM')).toMatch(/! INVALID_ROOM \(#r+…\): /);
    expect(s).toContain('room is longer than 64 characters');
    const raw = ui.lastFrame()!.split('\n').find((row) => row.includes('INVALID_ROOM'))!;
    expect(raw).toContain('\x1b[31m'); // red
    expect(s).not.toContain(`#${tooLong}`);

    submit('still in the lobby');
    await bob.waitFor((e) => e.type === 'message' && e.message.content === 'still in the lobby', 'the message in #lobby');
    await until((s) => s.includes('Alice still in the lobby'), 'Alice’s own copy');
    expect(screen(ui)).not.toContain('not sent');
  });

  it('writes no escape sequence besides colours, whatever happened on screen', async () => {
    const { t, submit, press, until, ui } = await start();
    const bob = await t.joined({ userId: 'bob', displayName: 'Bob' }, 'lobby');
    bob.session.send('lobby', 'tabs\tand\nnewlines are allowed in content');
    submit('/join annex');
    await until((s) => s.includes('›#annex'), '#annex');
    press(KEY.tab);
    submit('/help');
    submit('/nope');
    await until((s) => s.includes('unknown command /nope'), 'the last command');
    for (const frame of ui.frames) expect(plain(frame)).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    // Content's tab and newline are shown, not obeyed.
    await until((s) => s.includes('tabs␉and␊newlines'), 'the message with a tab and a newline');
  });

  it('when the server goes away, the header counts down to the next attempt and the room says the connection was lost', async () => {
    const { t, until, ui } = await start();
    await t.server.drain();
    const s = await until((s) => /◌ reconnecting in \d+s \(attempt \d+\)/.test(s.split('\n')[0]!), 'the reconnect countdown');
    expect(rowWith(s, 'connection lost')).toMatch(/! connection lost \(UNAVAILABLE: /);
    expect(s).toContain('; reconnecting');
    const raw = ui.lastFrame()!.split('\n').find((row) => row.includes('connection lost'))!;
    expect(raw).toContain('\x1b[31m');
  });

  it('the header shows the server in use: the second address when the first refuses connections', async () => {
    const gone = await TestServer.start();
    await gone.stop();
    const { t, screen } = await start({ before: [gone.address] });
    const header = screen().split('\n')[0]!;
    expect(header).toContain(`chat-grpc ${t.address} ● connected`);
    expect(header).not.toContain(gone.address);
  });

  it('Ctrl+C leaves (others see it), closes the connection and calls onQuit', async () => {
    const { t, press, connection, quits } = await start();
    const bob = await t.joined({ userId: 'bob' }, 'lobby');
    press(KEY.ctrlC);
    await bob.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'Alice leaving');
    await waitFor(() => quits.length === 1, { what: 'onQuit' });
    expect(connection.state).toEqual({ kind: 'closed' });
  });

  it('/quit does the same as Ctrl+C', async () => {
    const { t, submit, connection, quits } = await start();
    const bob: EventLog = await t.joined({ userId: 'bob' }, 'lobby');
    submit('/quit');
    await bob.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'Alice leaving');
    await waitFor(() => quits.length === 1, { what: 'onQuit' });
    expect(connection.state.kind).toBe('closed');
  });
});

function screen(ui: { lastFrame: () => string | undefined }): string {
  return plain(ui.lastFrame());
}
