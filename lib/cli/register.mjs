// `node --import ./lib/cli/register.mjs file.ts`: runs this package's TypeScript with the light loader.
import { register } from 'node:module';

// Stack traces then point at the TypeScript lines (the loader emits inline source maps).
process.setSourceMapsEnabled(true);
register('./tsLoader.mjs', import.meta.url);
