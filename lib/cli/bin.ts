#!/usr/bin/env node
// The package's command. Installed, it is dist/cli/bin.js (plain JavaScript); from a checkout,
// lib/cli/bin.mjs runs this file through the light TypeScript loader.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
