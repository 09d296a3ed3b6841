import { afterAll, describe, it } from '@jest/globals';
import fc from 'fast-check';
import { fuzzRun } from '../helpers/fuzzRun.js';
import { HubFleet } from '../helpers/HubFleet.js';
import { type HubCommand, hubCommands } from '../helpers/hubCommands.js';

/** Applies the commands one by one, checking every rule after each, then closes everything and checks nothing is left. */
async function runFleet(nodes: number, commands: HubCommand[]): Promise<void> {
  const fleet = new HubFleet(nodes);
  try {
    for (const command of commands) {
      await fleet.apply(command);
      await fleet.check();
    }
    await fleet.closeAll();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await fleet.dump()}`, { cause: error });
  } finally {
    fleet.dispose();
  }
}

describe('the room state machine, fuzzed', () => {
  afterAll(() => {
    process.stderr.write(`fuzz hub: exercised ${JSON.stringify(Object.fromEntries([...HubFleet.tally].sort()))}\n`);
  });

  it('one Hub: seqs gapless, one order, presence as bound, no impersonation, bounded, empty after all close', async () => {
    await fuzzRun('hub/one-hub', 150, fc.asyncProperty(hubCommands(1), (commands) => runFleet(1, commands)));
  });

  it('three Hubs sharing rooms through a backplane: the same rules across hubs', async () => {
    await fuzzRun('hub/shared-rooms', 100, fc.asyncProperty(hubCommands(3), (commands) => runFleet(3, commands)));
  });
});
