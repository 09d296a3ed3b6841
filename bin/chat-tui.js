#!/usr/bin/env node
// chat-tui runs from the TypeScript sources through tsx (a dependency), so `npx
// chat-tui` works right after `npm ci`, and `npm i -g` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/tui/main.tsx');
