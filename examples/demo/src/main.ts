// `pnpm demo` at the repository root. Sections grow as the packages do.
import { aiSdkSection } from './ai-sdk-section.js';
import { afterRestart, coreSection } from './core-section.js';

if (process.argv.includes('--after-restart')) {
  await afterRestart();
} else {
  console.log('llmemo demo: repeated requests cost nothing and come back at once.');
  await coreSection();
  await aiSdkSection();
  console.log('\nDone. Run `pnpm test` for the whole suite, `pnpm bench` for the measurements.');
}
