#!/usr/bin/env node
'use strict';
// Thin launcher: all behaviour is in src/cli (tested directly); this only maps argv and the exit code.
const cli = require('../dist/cjs/cli/ronctl.js');
cli
  .main(process.argv.slice(2), cli.processIo(process))
  .then((code) => { process.exitCode = code; })
  .catch((err) => { process.stderr.write(`ronctl: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 2; });
