#!/usr/bin/env node
'use strict';
// Thin launcher: all behaviour is in src/cli (tested directly); this only maps argv and the exit code.
require('../dist/cjs/cli/ronctl.js')
  .main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() })
  .then((code) => { process.exitCode = code; })
  .catch((err) => { process.stderr.write(`ronctl: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 2; });
