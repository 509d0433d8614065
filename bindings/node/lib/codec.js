'use strict';

// Reads and writes the structs of the generated table (lib/abi.js) in a
// Buffer, at the offsets the backend computed from the same table
// (koffi.offsetof, ref-struct-di), with plain Buffer reads: the same code for
// both backends, and much cheaper per call than either backend's generic
// struct decoding.

const os = require('os');
const abi = require('./abi');

const LE = os.endianness() === 'LE';
const TWO32 = 4294967296;

// 64-bit integers as numbers: exact up to 2^53, correctly rounded past it.
function readU64(buf, off) {
  const lo = LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off + 4);
  const hi = LE ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off);
  return hi * TWO32 + lo;
}
function readI64(buf, off) {
  const lo = LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off + 4);
  const hi = LE ? buf.readInt32LE(off + 4) : buf.readInt32BE(off);
  return hi * TWO32 + lo;
}

const i32 = (buf, off) => (LE ? buf.readInt32LE(off) : buf.readInt32BE(off));
const u32 = (buf, off) => (LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
const i16 = (buf, off) => (LE ? buf.readInt16LE(off) : buf.readInt16BE(off));
const u16 = (buf, off) => (LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off));
const READ = {
  int8_t: (buf, off) => buf.readInt8(off),
  uint8_t: (buf, off) => buf.readUInt8(off),
  bool: (buf, off) => buf.readUInt8(off),
  int16_t: i16,
  uint16_t: u16,
  int32_t: i32,
  uint32_t: u32,
  int: i32,
  'unsigned int': u32,
  int64_t: readI64,
  uint64_t: readU64,
};
const w32 = (buf, v, off) => (LE ? buf.writeInt32LE(v, off) : buf.writeInt32BE(v, off));
const wu32 = (buf, v, off) => (LE ? buf.writeUInt32LE(v, off) : buf.writeUInt32BE(v, off));
const WRITE = {
  int8_t: (buf, v, off) => buf.writeInt8(v, off),
  uint8_t: (buf, v, off) => buf.writeUInt8(v, off),
  bool: (buf, v, off) => buf.writeUInt8(v ? 1 : 0, off),
  int16_t: (buf, v, off) => (LE ? buf.writeInt16LE(v, off) : buf.writeInt16BE(v, off)),
  uint16_t: (buf, v, off) => (LE ? buf.writeUInt16LE(v, off) : buf.writeUInt16BE(v, off)),
  int32_t: w32,
  uint32_t: wu32,
  int: w32,
  'unsigned int': wu32,
  int64_t: (buf, v, off) => (LE ? buf.writeBigInt64LE(BigInt(v), off) : buf.writeBigInt64BE(BigInt(v), off)),
  uint64_t: (buf, v, off) => (LE ? buf.writeBigUInt64LE(BigInt(v), off) : buf.writeBigUInt64BE(BigInt(v), off)),
};

function makeCodec(structName, layout) {
  const size = layout.sizeOf(structName);
  const fields = abi.structs[structName].map(({ name, type: t }) => {
    const offset = layout.offsetOf(structName, name);
    const scalar = t.kind === 'scalar' && t.pointers === 0;
    if (scalar && t.length !== null && t.name === 'char') return { name, kind: 'text', offset, length: t.length };
    if (!scalar || t.length !== null || !READ[t.name]) return { name, kind: 'opaque', offset };
    return { name, kind: 'int', offset, read: READ[t.name], write: WRITE[t.name] };
  });

  return {
    size,
    // A zeroed struct; a growth-safe one (first member `uint32_t size`)
    // carries its size, as lifesign_report_init/lifesign_options_init set it.
    alloc() {
      const buf = Buffer.alloc(size);
      if (fields.length && fields[0].name === 'size' && fields[0].offset === 0) fields[0].write(buf, size, 0);
      return buf;
    },
    // A plain object with every integer and char-array (text) member; the
    // others (pointers, callbacks, other arrays, nested structs) are left out.
    decode(buf) {
      const o = {};
      for (const f of fields) {
        if (f.kind === 'int') {
          o[f.name] = f.read(buf, f.offset);
        } else if (f.kind === 'text') {
          let end = buf.indexOf(0, f.offset);
          if (end < 0 || end > f.offset + f.length) end = f.offset + f.length;
          o[f.name] = buf.toString('utf8', f.offset, end);
        }
      }
      return o;
    },
    // Writes the integer members present in obj; leaves the rest as they are.
    encode(buf, obj) {
      for (const f of fields) {
        if (f.kind === 'int' && obj[f.name] !== undefined) f.write(buf, obj[f.name], f.offset);
      }
    },
  };
}

module.exports = { makeCodec, readU64, readI64 };
