import { useEffect, useMemo, useState } from 'react';
import type { ChatConnection } from '../client/ChatConnection.js';
import { ChatModel } from './ChatModel.js';

/** How often, at most, a busy room redraws (ms). */
const FRAME_MS = 33;

/**
 * Folds the connection's events into a ChatModel and redraws when it changed,
 * at most once a frame however fast events come. Returns the model and
 * `refresh`, for changes the UI makes to it itself.
 */
export function useChat(connection: ChatConnection): { model: ChatModel; refresh: () => void } {
  const model = useMemo(() => new ChatModel(connection.identity), [connection]);
  const [, setVersion] = useState(0);
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    const off = connection.subscribe((event) => {
      model.apply(event);
      timer ??= setTimeout(() => {
        timer = undefined;
        setVersion(model.version);
      }, FRAME_MS);
    });
    connection.start();
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [connection, model]);
  return { model, refresh: () => setVersion(model.version) };
}
