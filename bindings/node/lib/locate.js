'use strict';

const { LifesignError } = require('./errors');

const fs = require('fs');
const path = require('path');

const ENV_LIB = 'LIFESIGN_LIB';

function libraryFileName() {
  if (process.platform === 'win32') return 'lifesign.dll';
  if (process.platform === 'darwin') return 'liblifesign.dylib';
  return 'liblifesign.so';
}

// The platform folder under prebuilds/, as koffi and prebuildify name them:
// <platform>-<arch>, plus -gnu or -musl on Linux.
function platformKey() {
  let key = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    const header = process.report && process.report.getReport ? process.report.getReport().header : {};
    key += header && header.glibcVersionRuntime ? '-gnu' : '-musl';
  }
  return key;
}

// The places to try, in order:
//   1. an explicit path (load({ libPath })), else the LIFESIGN_LIB variable:
//      when either is given it is the only candidate;
//   2. the library bundled in the package, prebuilds/<platform-key>/ (what
//      the npm package from `make dist` carries);
//   3. the repository's build output, ../../target/release from bindings/node;
//   4. the bare file name, which the system's dynamic loader resolves
//      (LD_LIBRARY_PATH, the ld.so cache, the default folders).
function candidates(explicit) {
  if (explicit) return [{ how: 'the libPath option', path: path.resolve(explicit), mustExist: true }];
  const fromEnv = process.env[ENV_LIB];
  if (fromEnv) return [{ how: `$${ENV_LIB}`, path: path.resolve(fromEnv), mustExist: true }];
  const name = libraryFileName();
  return [
    {
      how: 'the library bundled in the package',
      path: path.resolve(__dirname, '..', 'prebuilds', platformKey(), name),
      mustExist: true,
    },
    {
      how: 'the repository build output',
      path: path.resolve(__dirname, '..', '..', '..', 'target', 'release', name),
      mustExist: true,
    },
    { how: "the system library path", path: name, mustExist: false },
  ];
}

// Tries open(path) on each candidate; returns { handle, path } for the first
// that loads, or throws an Error (code LIFESIGN_ERR_LIBRARY_NOT_FOUND) that
// lists every place tried and why it failed.
function openFirst(explicit, open) {
  const tried = [];
  for (const c of candidates(explicit)) {
    if (c.mustExist && !fs.existsSync(c.path)) {
      tried.push(`${c.path} (${c.how}): no such file`);
      continue;
    }
    try {
      return { handle: open(c.path), path: c.path };
    } catch (err) {
      tried.push(`${c.path} (${c.how}): ${String(err && err.message ? err.message : err).split('\n')[0]}`);
    }
  }
  const err = new LifesignError(
    `cannot load the lifesign C library; looked in:\n  ${tried.join('\n  ')}\n` +
      `Install a lifesign package built for ${platformKey()}, build it with \`make build\` at the repository root, or set ${ENV_LIB} to the path of ${libraryFileName()}.`,
    { code: 'LIFESIGN_ERR_LIBRARY_NOT_FOUND' }
  );
  err.tried = tried;
  throw err;
}

// Refuses a library of another ABI (major.minor) than the header lib/abi.js
// was generated from: one error naming both versions and the path loaded.
function checkLibraryVersion(version, libPath) {
  const { constants } = require('./abi');
  const want = [constants.LIFESIGN_VERSION_MAJOR, constants.LIFESIGN_VERSION_MINOR];
  if (String(version).split('.').slice(0, 2).join('.') === want.join('.')) return;
  const err = new Error(
    `the library at ${libPath} is lifesign ${version}, but this package was generated from ` +
      `lifesign.h ${constants.LIFESIGN_VERSION_STRING}: another major.minor is another ABI; ` +
      `use the library of lifesign ${want.join('.')} (set ${ENV_LIB} to its path) or the package of lifesign ${version}`
  );
  err.code = 'LIFESIGN_ERR_LIBRARY_VERSION';
  err.libraryPath = libPath;
  err.libraryVersion = String(version);
  throw err;
}

module.exports = { ENV_LIB, candidates, openFirst, libraryFileName, platformKey, checkLibraryVersion };
