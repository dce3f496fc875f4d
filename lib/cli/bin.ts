#!/usr/bin/env node
// The package's command. Installed, it is dist/cli/bin.js (plain JavaScript); from a checkout,
// lib/cli/bin.mjs runs this file through the light TypeScript loader.
import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// V8 lets its heap grow to several times what a run keeps alive while allocation is fast (the
// command's peak RSS on the 2 GB streaming benchmark: about 410 MB, for 130 MB live). Growing it by
// at most 1.3 times at each collection keeps the peak near 280 MB (README: At corpus scale; 1.6 gave
// 288–302 MB, too close to the 300 MB the command is held to). It is a growth factor, not a cap: a
// run that needs more memory still gets it. V8 reads it at every collection, so setting it here
// works however the command was started (installed, npx, or from a checkout); a flag of the user's
// own wins. (The young generation's size, the other lever, is fixed when the process starts.)
const userSet = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((flag) => /^--heap[-_]growing[-_]percent/.test(flag));
if (!userSet) setFlagsFromString('--heap-growing-percent=30');

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
