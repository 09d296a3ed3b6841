import { afterEach, describe, expect, it } from '@jest/globals';
import { cleanup, render } from 'ink-testing-library';
import stringWidth from 'string-width';
import { Header } from '../../src/tui/components/Header.js';
import { InputLine } from '../../src/tui/components/InputLine.js';
import { MembersPane } from '../../src/tui/components/MembersPane.js';
import { MessagesPane } from '../../src/tui/components/MessagesPane.js';
import { RoomsPane } from '../../src/tui/components/RoomsPane.js';
import type { ChatModel } from '../../src/tui/ChatModel.js';
import { sanitizeName } from '../../src/tui/sanitize.js';
import { error, joined, message, modelWith, presence } from './events.js';

afterEach(() => cleanup());

/** The frame without colour codes (SGR), which are the only escapes a pane may write. */
function plain(frame: string | undefined): string {
  return (frame ?? '').replace(/\x1b\[[\d;]*m/g, '');
}

function frameOf(element: React.ReactElement): string {
  return plain(render(element).lastFrame());
}

/** Fails when a frame holds anything a terminal would interpret besides colours. */
function expectNoControls(frame: string | undefined): void {
  expect(plain(frame)).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
}

function expectWithin(frame: string, width: number): void {
  for (const line of frame.split('\n')) {
    if (stringWidth(line) > width) throw new Error(`a line is ${stringWidth(line)} columns wide, more than ${width}: ${JSON.stringify(line)}`);
  }
}

function messagesOf(model: ChatModel, props: { width?: number; height?: number; scroll?: number } = {}): string {
  const room = model.activeRoom;
  return frameOf(
    <MessagesPane
      room={room?.name}
      lines={model.shownLines}
      pending={room ? [...room.pending.values()] : []}
      scroll={props.scroll ?? 0}
      width={props.width ?? 40}
      height={props.height ?? 10}
    />,
  );
}

describe('Header', () => {
  const header = (state: Parameters<typeof Header>[0]['state'], now = 10_000) =>
    frameOf(<Header address="127.0.0.1:50051" state={state} name="Zoë" userId="zoe" now={now} width={100} />);

  it('names the server and who you are', () => {
    const frame = header({ kind: 'connected', address: 'a:1' });
    expect(frame).toContain('chat-grpc');
    expect(frame).toContain('127.0.0.1:50051');
    expect(frame).toContain('as Zoë (@zoe)');
  });

  it('shows only the name when it is the user id', () => {
    expect(frameOf(<Header address="a:1" state={{ kind: 'connected', address: 'a:1' }} name="zoe" userId="zoe" now={0} width={80} />)).toContain('as zoe');
    expect(frameOf(<Header address="a:1" state={{ kind: 'connected', address: 'a:1' }} name="zoe" userId="zoe" now={0} width={80} />)).not.toContain('@zoe');
  });

  it('shows connected and connecting', () => {
    expect(header({ kind: 'connected', address: 'a:1' })).toContain('● connected');
    expect(header({ kind: 'connecting', address: 'a:1' })).toContain('◌ connecting…');
  });

  it('counts down to the next reconnect attempt in whole seconds, rounding up', () => {
    const now = 1_000_000;
    expect(header({ kind: 'reconnecting', attempt: 2, at: now + 2500, reason: 'UNAVAILABLE', address: 'a:1' }, now)).toContain('reconnecting in 3s (attempt 2)');
    expect(header({ kind: 'reconnecting', attempt: 5, at: now - 100, reason: 'UNAVAILABLE', address: 'a:1' }, now)).toContain('reconnecting in 0s (attempt 5)');
  });

  it('shows closed, with the reason when there is one', () => {
    expect(header({ kind: 'closed', reason: 'INVALID_ARGUMENT: bad user id' })).toContain('✕ closed: INVALID_ARGUMENT: bad user id');
    const closed = header({ kind: 'closed' });
    expect(closed).toContain('✕ closed');
    expect(closed).not.toContain('closed:');
  });

  it('sanitizes the reason, which comes from the server', () => {
    const frame = render(<Header address="a:1" state={{ kind: 'closed', reason: 'UNKNOWN: \x1b]0;pwned\x07\x1b[2J' }} name="me" userId="me" now={0} width={100} />).lastFrame();
    expectNoControls(frame);
    expect(plain(frame)).toContain('␛]0;pwned␇');
  });

  it('stays on one line within its width', () => {
    const frame = frameOf(<Header address="a-very-long-host-name.example.com:50051" state={{ kind: 'reconnecting', attempt: 12, at: 99_000, reason: '', address: 'a:1' }} name={'N'.repeat(40)} userId="someone" now={0} width={50} />);
    expect(frame.split('\n')).toHaveLength(1);
    expectWithin(frame, 50);
  });
});

describe('RoomsPane', () => {
  it('lists the rooms, marking the active one with ›', () => {
    const frame = frameOf(<RoomsPane rooms={[{ name: 'lobby', unread: 0 }, { name: 'annex', unread: 0 }]} active="annex" width={18} height={8} />);
    expect(frame).toContain('Rooms');
    expect(frame).toContain('›#annex');
    expect(frame).toContain(' #lobby');
    expect(frame).not.toContain('›#lobby');
  });

  it('shows unread counts, capped at 999+', () => {
    const frame = frameOf(<RoomsPane rooms={[{ name: 'lobby', unread: 0 }, { name: 'annex', unread: 3 }, { name: 'busy', unread: 12_345 }]} active="lobby" width={18} height={8} />);
    expect(frame).toMatch(/#annex 3\b/);
    expect(frame).toContain('#busy 999+');
    expect(frame).not.toMatch(/#lobby \d/);
  });

  it('says how to join when there are no rooms', () => {
    expect(frameOf(<RoomsPane rooms={[]} active={undefined} width={18} height={8} />)).toContain('/join a room');
  });

  it('counts the rooms that do not fit', () => {
    const rooms = Array.from({ length: 10 }, (_, i) => ({ name: `room${i}`, unread: 0 }));
    const frame = frameOf(<RoomsPane rooms={rooms} active="room0" width={18} height={8} />);
    expect(frame).toContain('#room4');
    expect(frame).not.toContain('#room5');
    expect(frame).toContain('+5 more');
    expect(frame.split('\n')).toHaveLength(8);
  });

  it('cuts long names to the pane, keeping the unread count', () => {
    const frame = frameOf(<RoomsPane rooms={[{ name: 'a-really-long-room-name', unread: 42 }]} active={undefined} width={16} height={6} />);
    expectWithin(frame, 16);
    expect(frame).toMatch(/#a-really\S*… 42/);
  });

  it('shows hostile room names (as the App passes them, raw) without any escape sequence', () => {
    const hostile = ['\x1b[2Jwipe', 'title\x1b]0;pwned\x07', 'c1\x9b31m', 'rtl\u202Eevil'];
    const rooms = hostile.map((name, i) => ({ name, unread: i }));
    const frame = render(<RoomsPane rooms={rooms} active={rooms[0]!.name} width={24} height={10} />).lastFrame();
    expectNoControls(frame);
    expect(plain(frame)).toContain('␛[2Jwipe');
  });
});

describe('MembersPane', () => {
  const members = new Map([
    ['zed', 'Zed'],
    ['me', 'Me'],
    ['anna', 'Anna'],
  ]);

  it('shows the count and you first, marked "(you)", then the others by name', () => {
    const frame = frameOf(<MembersPane members={members} me="me" width={20} height={8} />);
    expect(frame).toContain('Members (3)');
    const names = frame
      .split('\n')
      .slice(2, 5)
      .map((l) => l.replace(/[│\s]+$/, '').replace(/^│/, ''));
    expect(names).toEqual(['Me (you)', 'Anna', 'Zed']);
  });

  it('counts the members that do not fit', () => {
    const many = new Map(Array.from({ length: 12 }, (_, i) => [`u${String(i).padStart(2, '0')}`, `User ${String(i).padStart(2, '0')}`]));
    const frame = frameOf(<MembersPane members={many} me="u05" width={20} height={8} />);
    expect(frame).toContain('Members (12)');
    expect(frame).toContain('User 05 (you)');
    expect(frame).toContain('+8 more');
    expect(frame.split('\n')).toHaveLength(8);
  });

  it('cuts long names to the pane', () => {
    const frame = frameOf(<MembersPane members={new Map([['me', 'A name far too long for this pane']])} me="me" width={16} height={5} />);
    expectWithin(frame, 16);
    expect(frame).toContain('…');
  });
});

describe('MessagesPane', () => {
  it('shows the room, messages with sender and time, and notices', () => {
    const model = modelWith(joined('lobby'), message('lobby', { displayName: 'Bob', content: 'hi all' }), presence('user_joined', 'lobby', 'dan', 'Dan'));
    const frame = messagesOf(model);
    expect(frame).toContain('#lobby');
    expect(frame).toMatch(/\d\d:\d\d Bob hi all/);
    expect(frame).toMatch(/\d\d:\d\d · Dan joined/);
    expect(frame).toContain('Welcome to #lobby');
  });

  it('marks error lines with !', () => {
    const model = modelWith(joined('lobby'), error('lobby', 'RATE_LIMITED', 'slow down'));
    expect(messagesOf(model)).toMatch(/\d\d:\d\d ! RATE_LIMITED: slow down/);
  });

  it('shows pending sends last, marked with …', () => {
    const model = modelWith(joined('lobby'));
    model.apply({ type: 'pending', room: 'lobby', clientMsgId: 'c1', content: 'on its way' });
    model.apply(message('lobby', { content: 'arrived after' }));
    const rows = messagesOf(model).split('\n');
    const pending = rows.findIndex((r) => r.includes('on its way'));
    expect(pending).toBeGreaterThan(rows.findIndex((r) => r.includes('arrived after')));
    expect(rows[pending]).toContain('on its way …');
  });

  it('says "no room" when none is shown', () => {
    expect(frameOf(<MessagesPane room={undefined} lines={[]} pending={[]} scroll={0} width={30} height={5} />)).toContain('no room');
  });

  it.each([30, 41, 60])('wraps long lines (words, CJK, emoji) within a %i-column pane, continuing under the text', (width) => {
    const model = modelWith(
      joined('lobby'),
      message('lobby', { content: 'The quick brown fox jumps over the lazy dog, '.repeat(4) }),
      message('lobby', { content: '漢字かな交じり文'.repeat(10) }),
      message('lobby', { content: '👨‍👩‍👧 family 🎉 party 👍🏽 '.repeat(6) }),
      message('lobby', { content: `${'x'.repeat(150)} end` }),
      message('lobby', { displayName: 'A very long display name indeed', content: 'short' }),
    );
    const frame = messagesOf(model, { width, height: 60 });
    expectWithin(frame, width);
    expect(frame.split('\n')).toHaveLength(60);
    expect(frame).toContain('lazy dog');
    expect(frame).toContain('漢字');
    expect(frame).toContain('👨‍👩‍👧');
    expect(frame).toMatch(/ end\b/);
    // Continuation rows are indented under the text, past the time and sender.
    const xs = frame.split('\n').filter((l) => /^│ +x+/.test(l));
    expect(xs.length).toBeGreaterThan(1);
  });

  it('renders only the newest screenful of thousands of lines', () => {
    const model = modelWith(joined('lobby'));
    for (let i = 0; i < 3000; i++) model.apply(message('lobby', { content: `line ${i}` }));
    const frame = messagesOf(model, { width: 40, height: 12 });
    const rows = frame.split('\n');
    expect(rows).toHaveLength(12);
    expect(frame).toContain('line 2999');
    expect(frame).toContain('line 2991'); // 12 rows: 2 borders, the title, 9 lines
    expect(frame).not.toContain('line 2990');
    expect(frame).toContain('(PgUp for more)');
  });

  it('scrolled back, shows older lines and how far back it is', () => {
    const model = modelWith(joined('lobby'));
    for (let i = 0; i < 100; i++) model.apply(message('lobby', { content: `line ${i}` }));
    const frame = messagesOf(model, { width: 50, height: 12, scroll: 20 });
    expect(frame).toContain('↑ 20 rows back (PgDn)');
    expect(frame).toContain('line 79');
    expect(frame).toContain('line 71');
    expect(frame).not.toContain('line 80');
    expect(frame).not.toContain('line 99');
  });

  it('says nothing about scrolling when everything fits', () => {
    const model = modelWith(joined('lobby', { welcomeMessage: 'hi' }));
    const frame = messagesOf(model);
    expect(frame).not.toContain('PgUp');
    expect(frame).not.toContain('PgDn');
  });

  it('shows hostile names and content without any escape sequence', () => {
    const hostile = '\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m\u202Egnp.exe';
    const model = modelWith(
      joined('lobby', { members: [{ userId: 'x', displayName: hostile }], welcomeMessage: hostile }),
      message('lobby', { displayName: hostile, content: `${hostile}\nline two` }),
      presence('user_joined', 'lobby', 'y', hostile),
    );
    const room = model.activeRoom!;
    const frames = [
      render(<MessagesPane room={sanitizeName(`lobby${hostile}`)} lines={model.shownLines} pending={[]} scroll={0} width={60} height={14} />).lastFrame(),
      render(<MembersPane members={room.members} me="me" width={24} height={6} />).lastFrame(),
    ];
    for (const frame of frames) expectNoControls(frame);
    expect(plain(frames[0])).toContain('␛[2J');
  });
});

describe('InputLine', () => {
  it('shows the prompt with the room, the draft and the key hint', () => {
    const frame = frameOf(<InputLine value="hello there" room="lobby" width={100} />);
    const [input, hint] = frame.split('\n');
    expect(input).toMatch(/^#lobby > hello there/);
    expect(hint).toContain('Enter send');
    expect(hint).toContain('/help');
  });

  it('shows a bare prompt when no room is shown', () => {
    expect(frameOf(<InputLine value="hi" room={undefined} width={40} />).split('\n')[0]).toMatch(/^> hi/);
  });

  it('shows the end of a draft wider than the screen, after …', () => {
    const value = `${'a'.repeat(80)}THE END`;
    const frame = frameOf(<InputLine value={value} room="lobby" width={40} />);
    const input = frame.split('\n')[0]!;
    expect(input).toContain('…');
    expect(input).toContain('THE END');
    expectWithin(frame, 40);
  });

  it('keeps a wide-character draft within the screen', () => {
    const frame = frameOf(<InputLine value={'漢字'.repeat(40)} room="lobby" width={30} />);
    expectWithin(frame, 30);
    expect(frame.split('\n')[0]).toContain('…');
  });
});
