/** `podstore search`: find files of a pod by their words and metadata. */
import { MAX_SEARCH_LIMIT, type Snippet } from '../../protocol/search.ts';
import type { CommandSpec } from './command.ts';
import { UsageError } from './usage-error.ts';

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

/** The snippet as one line, its matched words between [ and ]. */
export function markedSnippet(snippet: Snippet | null): string {
  if (snippet === null) return '';
  let out = '';
  let at = 0;
  for (const { start, end } of snippet.highlights) {
    out += `${snippet.text.slice(at, start)}[${snippet.text.slice(start, end)}]`;
    at = end;
  }
  return (out + snippet.text.slice(at)).replace(/\s+/g, ' ').trim();
}

export const searchCommand: CommandSpec = {
  name: 'search',
  summary: 'find files of a pod by their words',
  description:
    'Searches the text and metadata (name, folders, tags, description, author) of the files of a pod: the owner all of it, a grantee only what it may read. Prints the best hits first, one a line: path, score and a snippet with the matched words between [ and ] (tab-separated).',
  args: [
    { name: '<owner>', meaning: "the pod's owner" },
    { name: '<query>', meaning: 'the words to find (quote several): at most 256 characters and 16 words' },
  ],
  options: ['limit'],
  examples: ["podstore search alice 'lab result'", 'podstore --json search alice haemoglobin --limit 5'],
  async run({ client, print, options }, [ownerArg = '', query = '']) {
    const owner = ownerArg.replace(/\/+$/, '');
    if (!NAME.test(owner)) throw new UsageError(`expected an account name, got '${ownerArg}'`, 'search');
    let limit: number | undefined;
    if (options.limit !== undefined) {
      limit = Number(options.limit);
      if (!/^[0-9]+$/.test(options.limit) || limit < 1 || limit > MAX_SEARCH_LIMIT)
        throw new UsageError(`--limit is a whole number from 1 to ${MAX_SEARCH_LIMIT}`, 'search');
    }
    const answer = await client.search(owner, query, limit === undefined ? {} : { limit });
    print(
      answer.items.map((hit) => `${hit.path}\t${hit.score}\t${markedSnippet(hit.snippet)}`).join('\n'),
      answer,
    );
  },
};
