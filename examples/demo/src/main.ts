// `pnpm demo` at the repository root: a local server plays the model, so nothing is billed. `pnpm demo --real`
// uses the OpenAI API with OPENAI_API_KEY; the key alone never switches to the paid API.
import { aiSdkSection } from './ai-sdk-section.js';
import { afterRestart, coreSection } from './core-section.js';

const args = process.argv.slice(2);
if (args.includes('--after-restart')) {
  await afterRestart();
} else {
  const real = args.includes('--real');
  const unknown = args.filter((arg) => arg !== '--real');
  if (unknown.length > 0) {
    console.error(`demo: unknown argument ${unknown.join(' ')}; the only flag is --real (use the OpenAI API).`);
    process.exit(2);
  }
  if (real && !process.env.OPENAI_API_KEY) {
    console.error('demo: --real calls the OpenAI API and needs OPENAI_API_KEY; without --real nothing is billed.');
    process.exit(2);
  }
  console.log('llmemo demo: repeated requests cost nothing and come back at once.');
  if (!real && process.env.OPENAI_API_KEY) {
    console.log('(OPENAI_API_KEY is set, but the demo stays local; `pnpm demo --real` uses the OpenAI API.)');
  }
  await coreSection();
  await aiSdkSection({ real });
  console.log(
    [
      '',
      'Done. Look into the cache it wrote:',
      '  pnpm llmemo --store sqlite://.llmemo/demo-ai-sdk.sqlite stats --prices .llmemo/prices.json',
      '`pnpm proxy:demo` shows the caching proxy; `pnpm test` runs the suite, `pnpm bench` the measurements.',
    ].join('\n'),
  );
}
