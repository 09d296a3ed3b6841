import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Status } from 'nice-grpc';
import { TestServer } from '../helpers/testServer.js';

describe('the original chat flow', () => {
  let t: TestServer;
  beforeEach(async () => (t = await TestServer.start()));
  afterEach(async () => t.stop());

  it('three users join, each sends, each sees all three messages, leaves, half-closes to OK', async () => {
    const users = ['alice', 'bob', 'carol'];
    const logs = [];
    for (const user of users) logs.push(await t.joined({ userId: user, displayName: user.toUpperCase() }, 'general'));

    for (const [i, log] of logs.entries()) log.session.send('general', `hello from ${users[i]}`);
    for (const log of logs) {
      await log.waitForCount((e) => e.type === 'message', 3, 'messages');
      expect(log.contents('general').sort()).toEqual(users.map((u) => `hello from ${u}`).sort());
    }
    // Everyone saw the same order.
    expect(logs[1]!.contents('general')).toEqual(logs[0]!.contents('general'));
    expect(logs[2]!.contents('general')).toEqual(logs[0]!.contents('general'));

    const [alice, bob, carol] = logs as [typeof logs[0], typeof logs[0], typeof logs[0]];
    alice.session.leave('general');
    await bob.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'alice leaving');
    await carol.waitFor((e) => e.type === 'user_left' && e.notice.userId === 'alice', 'alice leaving');
    expect(alice.of('user_left')[0]?.notice.userId).toBe('alice');

    for (const log of logs) log.session.close();
    for (const log of logs) expect((await log.waitEnd()).code).toBe(Status.OK);
    expect(t.hub.sessionCount).toBe(0);
  });
});
