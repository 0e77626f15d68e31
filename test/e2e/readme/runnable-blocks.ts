/**
 * The README's runnable blocks: fenced blocks whose info string starts `sh runnable`, with their attributes
 * (see the comment above the first one in README.md for what each attribute means).
 */
export interface RunnableBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  id?: string;
  /** A server to run in the background while the block runs, and the port that says it is up. */
  server?: string;
  /** A command to run once before the block. */
  after?: string;
  /** The block is itself a server; it must come up on `port`. */
  background: boolean;
  port?: number;
}

const FENCE = /^```(\S*)(.*)$/;
const ATTRIBUTE = /([a-z-]+)(?:=(?:"([^"]*)"|(\S+)))?/g;
const KNOWN = new Set(['runnable', 'id', 'server', 'after', 'background', 'port']);

function parseInfo(info: string, line: number): Omit<RunnableBlock, 'code'> {
  const block: Omit<RunnableBlock, 'code'> = { line, background: false };
  for (const match of info.matchAll(ATTRIBUTE)) {
    const [, name, quoted, bare] = match as unknown as [string, string, string | undefined, string | undefined];
    const value = quoted ?? bare;
    if (!KNOWN.has(name)) throw new Error(`README.md:${line}: unknown runnable attribute '${name}'.`);
    if (name === 'id' || name === 'server' || name === 'after') block[name] = value;
    else if (name === 'background') block.background = true;
    else if (name === 'port') block.port = Number(value);
  }
  if ((block.server !== undefined || block.background) && !Number.isInteger(block.port)) {
    throw new Error(`README.md:${line}: a server or background block needs port=N to know when it is up.`);
  }
  return block;
}

/** Every fenced block of the markdown: its language, info string and code. */
export function fencedBlocks(markdown: string): { lang: string; info: string; code: string; line: number }[] {
  const blocks: { lang: string; info: string; code: string; line: number }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((text, j) => j > i && text.startsWith('```'));
    if (end === -1) throw new Error(`README.md:${i + 1}: a fenced block is never closed.`);
    blocks.push({ lang: open[1]!, info: open[2]!.trim(), code: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}

export function runnableBlocks(markdown: string): RunnableBlock[] {
  return fencedBlocks(markdown)
    .filter((block) => block.lang === 'sh' && /^runnable\b/.test(block.info))
    .map((block) => ({ ...parseInfo(block.info, block.line), code: block.code }));
}

/** What a reader may copy from the README: each shell line, with the fresh-machine setup the Quickstart shows. */
export function shownCommands(markdown: string, setup: string): Set<string> {
  const commands = new Set<string>();
  for (const block of fencedBlocks(markdown)) {
    if (block.lang !== 'sh') continue;
    for (const raw of block.code.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      commands.add(line.startsWith(setup) ? line.slice(setup.length) : line);
    }
  }
  return commands;
}
