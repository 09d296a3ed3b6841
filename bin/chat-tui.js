#!/usr/bin/env node
// chat-tui runs from the TypeScript sources through tsx (a dependency), so `npx
// chat-tui` works right after `npm ci`, and `npm i -g` needs no build step.
// tsx is given our tsconfig.json by path: it would otherwise look for one from
// the current folder, and without its `"jsx": "react-jsx"` every .tsx file
// fails with "React is not defined" wherever the package is installed.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/tui/main.tsx');
