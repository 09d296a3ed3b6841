import { readFileSync } from 'node:fs';

/** One instruction, its continuation lines joined: `RUN a \` + `&& b` is `RUN a && b`. */
export interface Instruction {
  keyword: string;
  /** `--name=value` flags in front of the arguments (`COPY --from=build`). */
  flags: Record<string, string>;
  /** The arguments after the flags. */
  rest: string;
}

export interface Stage {
  name: string;
  /** The base image, with build arguments filled in. */
  from: string;
  instructions: Instruction[];
}

/**
 * Reads a Dockerfile into its stages, so tests can check and replay what the
 * image build does. Handles what ours uses (comments, line continuations, ARG
 * defaults in FROM, `--flag=value`); a parser directive line is a comment here.
 */
export class Dockerfile {
  private constructor(readonly stages: Stage[]) {}

  static read(path: string): Dockerfile {
    const lines: string[] = [];
    let pending = '';
    for (const raw of readFileSync(path, 'utf8').split('\n')) {
      if (/^\s*#/.test(raw)) continue; // comments may sit between continuation lines too
      const line = raw.trimEnd();
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1).trim()} `;
        continue;
      }
      const whole = (pending + line.trim()).trim();
      pending = '';
      if (whole !== '') lines.push(whole);
    }
    // Build arguments declared before the first FROM, with their defaults: FROM lines use them.
    const args: Record<string, string> = {};
    const stages: Stage[] = [];
    for (const line of lines) {
      const [, keyword = '', rawArgs = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      const instruction = parseInstruction(keyword.toUpperCase(), rawArgs);
      if (instruction.keyword === 'ARG' && stages.length === 0) {
        const [name = '', value = ''] = instruction.rest.split('=');
        args[name] = value;
      } else if (instruction.keyword === 'FROM') {
        const [image = '', , name = String(stages.length)] = instruction.rest.split(/\s+/);
        stages.push({ name, from: image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => args[arg] ?? ''), instructions: [] });
      } else {
        const stage = stages.at(-1);
        if (!stage) throw new Error(`${path}: ${instruction.keyword} before FROM`);
        stage.instructions.push(instruction);
      }
    }
    return new Dockerfile(stages);
  }

  stage(name: string): Stage {
    const stage = this.stages.find((s) => s.name === name);
    if (!stage) throw new Error(`no stage "${name}" (have: ${this.stages.map((s) => s.name).join(', ')})`);
    return stage;
  }
}

function parseInstruction(keyword: string, args: string): Instruction {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { keyword, flags, rest };
}

/** The argv of an exec-form command (`["node", "x.js"]`); shell form is refused, as it would not get signals. */
export function execForm(text: string): string[] {
  const argv: unknown = JSON.parse(text);
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`not an exec-form command: ${text}`);
  return argv;
}

/** `ENV A=1 B=2` as an object (values without spaces or quotes, as ours are). */
export function envPairs(text: string): Record<string, string> {
  return Object.fromEntries(text.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string]));
}
