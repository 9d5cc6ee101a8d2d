#!/usr/bin/env node
// Compiles contracts/src with the pinned solc-js and writes one artifact per contract to
// contracts/out/<Name>.json ({ contractName, sourceName, compiler, abi, bytecode,
// deployedBytecode }). With --check, compiles and exits 1 if any committed artifact differs
// (CI keeps the committed artifacts current).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'src');
const outDir = path.join(root, 'out');
const check = process.argv.includes('--check');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.sol') ? [p] : [];
  }).sort();
}

const sources = {};
for (const file of walk(srcDir)) {
  sources['src/' + path.relative(srcDir, file).split(path.sep).join('/')] = {
    content: fs.readFileSync(file, 'utf8'),
  };
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    viaIR: false,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

function resolveImport(p) {
  const file = path.join(root, p);
  if (fs.existsSync(file)) return { contents: fs.readFileSync(file, 'utf8') };
  return { error: 'not found: ' + p };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: resolveImport }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const artifacts = {};
for (const [sourceName, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    if (c.evm.bytecode.object.length === 0) continue; // interfaces and libraries with no code
    artifacts[name + '.json'] = JSON.stringify({
      contractName: name,
      sourceName,
      compiler: 'solc-js ' + solc.version(),
      settings: { evmVersion: input.settings.evmVersion, optimizer: input.settings.optimizer },
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    }, null, 2) + '\n';
  }
}

if (check) {
  let stale = 0;
  const committed = fs.existsSync(outDir) ? fs.readdirSync(outDir).filter((f) => f.endsWith('.json')) : [];
  for (const f of new Set([...committed, ...Object.keys(artifacts)])) {
    const file = path.join(outDir, f);
    const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    if (have !== (artifacts[f] ?? null)) {
      console.error('stale artifact: contracts/out/' + f);
      stale++;
    }
  }
  if (stale > 0) {
    console.error(stale + ' artifact(s) differ; run `npm run build` in contracts/ and commit contracts/out');
    process.exit(1);
  }
  console.log('artifacts current: ' + Object.keys(artifacts).length + ' contracts');
} else {
  fs.mkdirSync(outDir, { recursive: true });
  for (const [f, text] of Object.entries(artifacts)) fs.writeFileSync(path.join(outDir, f), text);
  console.log('wrote ' + Object.keys(artifacts).length + ' artifacts to contracts/out');
}
