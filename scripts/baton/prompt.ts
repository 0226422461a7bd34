/**
 * Questions on a terminal or a pipe. readline's own question() loses the lines that arrive before
 * it is called — all of them when the answers are piped in at once (a script, a test) — so every
 * line is queued as it arrives and each question takes the next one.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export class InputEndedError extends Error {
  constructor(question: string) {
    super(`The input ended before this question was answered: ${question.trim()}`);
  }
}

export interface Prompter {
  /** The answer, trimmed; `fallback` when the line is empty. */
  ask(question: string, fallback?: string): Promise<string>;
  close(): void;
}

export function createPrompter(input: Readable, output: Writable): Prompter {
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let ended = false;
  const rl = createInterface({ input, terminal: false });
  rl.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  rl.on('close', () => {
    ended = true;
    for (const next of waiting.splice(0)) next(undefined);
  });
  const nextLine = (): Promise<string | undefined> => {
    if (lines.length > 0) return Promise.resolve(lines.shift());
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return {
    async ask(question, fallback) {
      output.write(fallback ? `${question} [${fallback}] ` : `${question} `);
      const line = await nextLine();
      if (line === undefined) {
        output.write('\n');
        throw new InputEndedError(question);
      }
      // A piped answer is not echoed by a terminal: echo it, so the transcript reads as a dialogue.
      if (!(input as { isTTY?: boolean }).isTTY) output.write(`${line}\n`);
      const answer = line.trim();
      return answer === '' && fallback !== undefined ? fallback : answer;
    },
    close() {
      rl.close();
    },
  };
}
