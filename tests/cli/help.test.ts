/**
 * Help text wraps at the terminal's width, not where a source string happened to break. Every command's help is
 * rendered by the CLI as a user runs it, at COLUMNS=60 and COLUMNS=200, and no line may be wider than that, except
 * where commander cannot break it (a single word longer than the room left for it) and the example command lines,
 * kept whole so they can be copied.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { projectRoot } from '../support/cli.ts';

const run = promisify(execFile);

function commandPaths(cmd: Command, path: string[] = []): string[][] {
  return [path, ...cmd.commands.flatMap((c) => commandPaths(c, [...path, c.name()]))];
}

const program = buildProgram();
const COMMANDS = commandPaths(program);
const label = (path: string[]) => ['clusterproof', ...path].join(' ');

const renders = new Map<string, Promise<string>>();

/** The help as the CLI prints it into a pipe of this width; each command and width is run once. */
function helpAt(path: string[], columns: number): Promise<string> {
  const key = `${columns} ${label(path)}`;
  if (!renders.has(key)) {
    const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: String(columns), NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const cli = join(projectRoot, 'bin/clusterproof.mjs');
    renders.set(key, run(process.execPath, [cli, ...path, '--help'], { cwd: projectRoot, env }).then((r) => r.stdout));
  }
  return renders.get(key)!;
}

interface HelpLine {
  line: string;
  /** the heading ("Options:", "Examples:", ...) of the block the line is in; blocks end at a blank line */
  heading?: string;
  /** below the first block: text added after commander's own help, which commander prints as it is */
  added: boolean;
}

function helpLines(output: string): HelpLine[] {
  let heading: string | undefined;
  let added = false;
  return output.split('\n').map((line) => {
    if (line.trim() === '') {
      if (heading) added = true;
      heading = undefined;
    } else if (/^[A-Z][\w ]*:$/.test(line)) heading = line;
    return { line, heading, added };
  });
}

/** A single word past the indentation, or past an item's term, that is wider than the room left for it. */
const unbreakable = (line: string) => /^\s*\S+$/.test(line) || /^ {2}\S.*? {2,}\S+$/.test(line);

/** A newline followed by a lowercase word: a sentence broken in the source string. */
const HARD_WRAP = /\n[^\S\n]*[a-z]/;

const CASES = COMMANDS.map((path) => [label(path), path] as const);
const TIMEOUT = 120_000; // each case starts the CLI, and the machine may be busy

describe.concurrent.for([60, 200])('help at COLUMNS=%i', (columns) => {
  test.for(CASES)('%s --help fits', { timeout: TIMEOUT }, async ([, path]) => {
    const output = await helpAt(path, columns);
    expect(output).toMatch(/^Usage: /);
    const tooWide = helpLines(output).filter((l) => l.line.length > columns && l.heading !== 'Examples:' && !unbreakable(l.line));
    expect(tooWide.map((l) => l.line)).toEqual([]);
  });
});

describe('help text is not hard-wrapped in the source', () => {
  test.for(CASES)('%s: descriptions', ([, path]) => {
    const cmd = path.reduce<Command>((c, name) => c.commands.find((s) => s.name() === name)!, program);
    const texts: Array<[string, string | undefined]> = [
      ['description', cmd.description()],
      ['summary', cmd.summary()],
      ...cmd.options.map((o): [string, string] => [o.flags, o.description]),
      ...cmd.registeredArguments.map((a): [string, string] => [a.name(), a.description]),
    ];
    expect(texts.filter(([, text]) => text && HARD_WRAP.test(text))).toEqual([]);
  });

  test.concurrent.for(CASES)('%s --help: the text added after the lists', { timeout: TIMEOUT }, async ([, path]) => {
    const lines = helpLines(await helpAt(path, 200));
    const prose = (i: number) => lines[i]!.added && !lines[i]!.heading && lines[i]!.line.trim() !== '';
    const broken = lines.filter((l, i) => i > 0 && prose(i) && prose(i - 1) && /^\s*[a-z]/.test(l.line));
    expect(broken.map((l) => l.line)).toEqual([]);
  });
});
