import { afterEach, describe, expect, it } from '@jest/globals';
import { cleanup, render } from 'ink-testing-library';
import stringWidth from 'string-width';
import { InputLine } from '../../src/tui/components/InputLine.js';
import { RoomsPane } from '../../src/tui/components/RoomsPane.js';
import { messageRows } from '../../src/tui/messageRows.js';
import { error, joined, message, modelWith, payload } from './events.js';

afterEach(() => cleanup());

const plain = (frame: string | undefined) => (frame ?? '').replace(/\x1b\[[\d;]*m/g, '');

describe('ChatModel: text from the server is sanitized on every path', () => {
  it('an error notice whose code holds escape sequences prints none', () => {
    const hostile = '\u001b]0;PWNED\u0007\u001b[2J';
    const model = modelWith(joined('lobby'), error('lobby', hostile, `msg ${hostile}`), error('elsewhere', hostile, 'x'));
    model.say(`cannot list rooms: ${hostile}`, 'error');
    const lines = [...model.rooms.values()].flatMap((r) => r.lines).concat(model.system);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line.text).not.toContain('\u001b');
    expect(model.activeRoom!.lines.at(-1)!.text).toContain('␛]0;PWNED␇');
  });

  it('says what was refused and what was never sent, in red', () => {
    const model = modelWith(joined('lobby'));
    model.apply({ type: 'pending', room: 'lobby', clientMsgId: 'big', content: 'x'.repeat(10) });
    model.apply({ type: 'refused', room: 'lobby', clientMsgId: 'big', reason: 'the server refused a message of 10 bytes' });
    model.apply({ type: 'unsent', room: 'lobby', count: 2 });
    const room = model.activeRoom!;
    expect(room.pending.size).toBe(0);
    expect(room.lines.slice(-2).map((l) => [l.kind, l.text])).toEqual([
      ['error', 'not sent: the server refused a message of 10 bytes'],
      ['error', 'not sent: 2 messages'],
    ]);
  });
});

describe('ChatModel: rooms, unread and wording', () => {
  it('/join X then /leave X before its JoinAck sends what is typed to the room shown again', () => {
    const model = modelWith(joined('lobby'));
    model.showWhenJoined('annex');
    expect(model.target).toBe('annex');
    model.remove('annex');
    expect(model.target).toBe('lobby');
  });

  it('does not count the history a JoinAck brings as unread', () => {
    const model = modelWith(joined('lobby'), joined('annex', { history: [payload('annex'), payload('annex')] }));
    expect(model.rooms.get('annex')!.unread).toBe(0);
    model.apply(message('annex'));
    expect(model.rooms.get('annex')!.unread).toBe(1);
  });

  it('an unknown number of missed events is not "0 events were lost"', () => {
    const model = modelWith(joined('lobby'));
    model.apply({ type: 'missed', room: 'lobby', missed: 0, restarted: false });
    expect(model.activeRoom!.lines.at(-1)!.text).toBe('back: some events may have been lost while away (no longer held by the server)');
  });

  it('a complete resume says how many missed messages came back', () => {
    const model = modelWith(joined('lobby'));
    model.apply({ type: 'resumed', room: 'lobby', restored: 1, complete: true });
    model.apply({ type: 'resumed', room: 'lobby', restored: 3, complete: true });
    expect(model.activeRoom!.lines.slice(-2).map((l) => l.text)).toEqual(['back: 1 missed message restored', 'back: 3 missed messages restored']);
  });
});

describe('RoomsPane', () => {
  it('keys and marks rooms by their real names, even when the names shown are the same', () => {
    const prefix = 'r'.repeat(40);
    const rooms = [
      { name: `${prefix}-one`, unread: 0 },
      { name: `${prefix}-two`, unread: 0 },
    ];
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const frame = plain(render(<RoomsPane rooms={rooms} active={rooms[1]!.name} width={24} height={8} />).lastFrame());
      const marked = frame.split('\n').filter((row) => row.includes('›'));
      expect(marked).toHaveLength(1);
      // The second row of rooms is the active one.
      const roomRows = frame.split('\n').filter((row) => row.includes('#rrr'));
      expect(roomRows).toHaveLength(2);
      expect(roomRows[1]).toContain('›');
    } finally {
      console.error = original;
    }
    // React warns about two children with the same key.
    expect(errors).toEqual([]);
  });
});

describe('InputLine', () => {
  it('shows the end of a 20,000-character draft within the width', () => {
    const value = `${'word '.repeat(3999)}last!`;
    const frame = plain(render(<InputLine value={value} room="lobby" width={80} />).lastFrame());
    const first = frame.split('\n')[0]!;
    expect(stringWidth(first)).toBeLessThanOrEqual(80);
    expect(first).toMatch(/^#lobby > ….*last!\s*$/);
  });
});

describe('messageRows', () => {
  it('tells how far back one can scroll: exactly once the oldest line is reached, else at least the scroll asked', () => {
    const lines = modelWith(joined('lobby', { welcomeMessage: 'w' }), message('lobby'), message('lobby')).shownLines;
    // Three one-row lines in a 2-row window: one row above it.
    expect(messageRows(lines, 80, 2, 1).maxScroll).toBe(1);
    expect(messageRows(lines, 80, 2, 50).maxScroll).toBe(1);
    expect(messageRows(lines, 80, 2, 0).maxScroll).toBeGreaterThanOrEqual(0);
    expect(messageRows(lines, 80, 10, 0).maxScroll).toBe(0);
  });
});
