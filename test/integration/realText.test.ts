import { describe, expect, it } from '@jest/globals';
import type { ChatEvent } from '../../src/client/ChatEvent.js';
import { characterKinds, specialCharacters } from '../../src/lib/specialCharacters.js';
import { realText } from '../helpers/realText.js';
import { serverPerTest } from '../helpers/testServer.js';

/**
 * Issue 12 through a real server: real text in many scripts goes out and comes
 * back unchanged, and each kind of character that disguises text or could break
 * a terminal is refused with INVALID_CONTENT naming it and where it is.
 */

const start = serverPerTest();
const u = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

describe('text in many scripts, over a real stream', () => {
  it('is delivered unchanged to every member, and each disguising character is refused by name and place', async () => {
    const t = await start();
    const alice = await t.joined({ userId: 'alice', displayName: 'نمی‌دانم 👩‍💻' }, 'general');
    const bob = await t.joined({ userId: 'bob' }, 'general');
    const answer = (content: string): Promise<ChatEvent> => {
      const id = bob.session.send('general', content);
      return bob.waitFor(
        (e) => (e.type === 'message' && e.message.clientMsgId === id) || (e.type === 'error' && e.notice.clientMsgId === id),
        `the answer to ${JSON.stringify(content)}`,
      );
    };

    const ack = bob.of('joined')[0]!;
    expect(ack.type === 'joined' && ack.ack.members.find((m) => m.userId === 'alice')?.displayName).toBe('نمی‌دانم 👩‍💻');

    for (const [what, text] of realText) {
      const own = await answer(text);
      expect({ what, content: own.type === 'message' ? own.message.content : own }).toEqual({ what, content: text });
    }
    await alice.waitForCount((e) => e.type === 'message', realText.length, 'every piece of real text');
    expect(alice.contents('general')).toEqual(realText.map(([, text]) => text));

    // The first character of each row the server refuses in content (a lone
    // surrogate cannot cross the wire: the encoder sends U+FFFD for it).
    const refused = specialCharacters.filter((r) => r.kind !== 'surrogate' && (characterKinds[r.kind].refusedInContent || r.kind === 'tag'));
    for (const r of refused) {
      const error = await answer(`hello ${String.fromCodePoint(r.from)} world`);
      const expected = `content holds ${u(r.from)} ${r.names[0]} at character 7: ${characterKinds[r.kind].why}`;
      expect(error.type === 'error' && [error.notice.code, error.notice.message]).toEqual(['INVALID_CONTENT', expected]);
    }
    expect(alice.contents('general')).toHaveLength(realText.length);
  });
});
