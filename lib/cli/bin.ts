#!/usr/bin/env node
// The package's command. Installed, it is dist/cli/bin.js (plain JavaScript); from a checkout,
// lib/cli/bin.mjs runs this file through the light TypeScript loader.
import { setHeapGrowth } from './heapGrowth.js';
import { main } from './main.js';

// Lean on memory from the start (heapGrowth.ts says why); a command that feeds a trainer asks for
// the roomy growth when it knows (dump --format arrow).
setHeapGrowth('lean');

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, heapGrowth: (growth) => void setHeapGrowth(growth) });
