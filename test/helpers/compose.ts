import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A compose service, as much of it as the tests read. */
export interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  networks?: Record<string, { aliases?: string[] } | null>;
}

/** compose.yaml as written (not as `docker-compose config` resolves it). */
export function composeFile(): { services: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  return parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
}

/** A YAML file of the repository, parsed. */
export function readYaml<T>(path: string): T {
  return parse(readFileSync(join(root, path), 'utf8')) as T;
}
