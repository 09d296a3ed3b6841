import type { ClientEnvelope } from '../../gen/chat/v1/chat.js';
import { ImpersonationError } from '../domain/errors.js';

/**
 * Holds an envelope to the user the connection vouched for (a client
 * certificate's CN): naming anyone else ends the stream as impersonation
 * (PERMISSION_DENIED), as naming another user does on any bound stream; a join
 * that names no one is made as that user. After the first join the hub binds the
 * stream to it as usual.
 */
export function asVouchedUser(envelope: ClientEnvelope, user: string): ClientEnvelope {
  const { message } = envelope;
  if (message === undefined || message.$case === 'refresh') return envelope;
  const named = message.value.userId;
  if (named !== '' && named !== user) throw new ImpersonationError(`this connection's client certificate is for user "${user}", not "${named}"`);
  if (message.$case === 'join' && named === '') return { ...envelope, message: { ...message, value: { ...message.value, userId: user } } };
  return envelope;
}
