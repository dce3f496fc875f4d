#!/usr/bin/env node
// The command from a checkout, without a build: the light type-stripping loader, then the command
// itself (lib/cli/bin.ts; the package's bin is its build, dist/cli/bin.js).
import './register.mjs';

await import('./bin.ts');
