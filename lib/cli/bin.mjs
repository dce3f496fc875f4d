#!/usr/bin/env node
// The package's command: runs lib/cli/main.ts through a light type-stripping loader (no build step).
import './register.mjs';

const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
