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

// Which C library this process runs on, 'gnu' or 'musl', from what the
// process itself shows, in the order prebuildify-style loaders use
// (detect-libc, https://github.com/lovell/detect-libc):
//   1. Node's diagnostic report: glibc's runtime version in its header, or
//      musl's loader (ld-musl-*, libc.musl-*) among the shared objects;
//   2. the program interpreter (PT_INTERP) of the node executable;
//   3. the text of /usr/bin/ldd (musl's is a script naming ld-musl).
// glibc when nothing tells.
function libcFamily(facts = processLibcFacts()) {
  const { report, interpreter, ldd } = facts;
  const header = (report && report.header) || {};
  if (header.glibcVersionRuntime) return 'gnu';
  const musl = /(^|\/)(ld-musl-|libc\.musl-)/;
  if (report && Array.isArray(report.sharedObjects) && report.sharedObjects.some((f) => musl.test(f))) return 'musl';
  if (interpreter) return musl.test(interpreter) ? 'musl' : 'gnu';
  if (ldd && /musl/i.test(ldd)) return 'musl';
  return 'gnu';
}

// The program interpreter named by an ELF file's PT_INTERP header, or null
// (not ELF, static, unreadable). Reads the headers only.
function elfInterpreter(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b, o) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const phoff = word(head, is64 ? 32 : 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phnum > 256 || phentsize < (is64 ? 56 : 32)) return null;
    const table = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const ph = table.subarray(i * phentsize);
      if (u32(ph, 0) !== 3) continue; // PT_INTERP
      const offset = word(ph, is64 ? 8 : 4);
      const size = Math.min(word(ph, is64 ? 32 : 16), 4096);
      const name = Buffer.alloc(size);
      fs.readSync(fd, name, 0, size, offset);
      return name.toString('latin1').replace(/\0.*$/s, '');
    }
    return null;
  } catch (_) {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function processLibcFacts() {
  let report = null;
  if (process.report && typeof process.report.getReport === 'function') {
    // No network section: it may resolve host names.
    const excluded = process.report.excludeNetwork;
    process.report.excludeNetwork = true;
    try {
      report = process.report.getReport();
    } catch (_) {
      report = null;
    } finally {
      process.report.excludeNetwork = excluded;
    }
  }
  const interpreter = elfInterpreter(process.execPath);
  let ldd = null;
  if (!report && !interpreter) {
    try {
      ldd = fs.readFileSync('/usr/bin/ldd', 'latin1');
    } catch (_) {
      ldd = null;
    }
  }
  return { report, interpreter, ldd };
}

// The platform folder under prebuilds/, as koffi and prebuildify name them:
// <platform>-<arch>, plus -gnu or -musl on Linux.
let cachedKey = null;
function platformKey() {
  if (cachedKey) return cachedKey;
  let key = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') key += `-${libcFamily()}`;
  cachedKey = key;
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

module.exports = {
  ENV_LIB,
  candidates,
  openFirst,
  libraryFileName,
  platformKey,
  libcFamily,
  elfInterpreter,
  checkLibraryVersion,
};
