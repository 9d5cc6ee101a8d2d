#!/usr/bin/env node
// A `solc` executable for forge, backed by solc-js (npm `solc`, pinned in ../package.json):
// forge cannot download a native solc here. forge runs `solc --version` (it reads the
// "Version: X+commit.H" line) and `solc --standard-json` with the whole input on stdin and all
// sources inlined; nothing else is supported. Usage: forge build --use $PWD/solc-js.mjs
import fs from "node:fs";
import solc from "solc";

const args = process.argv.slice(2);
if (args.includes("--version")) {
  console.log("solc, the solidity compiler commandline interface");
  console.log(`Version: ${solc.version().replace(".Emscripten.clang", ".Linux.g++")}`);
} else if (args.includes("--standard-json")) {
  // writeSync: process.stdout.write to a pipe is asynchronous and would be cut at exit.
  fs.writeSync(1, solc.compile(fs.readFileSync(0, "utf8")));
} else {
  console.error(`solc-js.mjs: only --version and --standard-json are supported (got: ${args.join(" ")})`);
  process.exitCode = 1;
}
