/**
 * What a dynamically linked ELF file needs at run time, read from its program headers: the interpreter (PT_INTERP)
 * and the DT_NEEDED sonames with DT_RUNPATH/DT_RPATH. Only 64-bit little-endian (the lab is amd64); anything else,
 * or a file that is not ELF, gives undefined. Static binaries give no interpreter and no sonames.
 */
export interface ElfNeeds {
  interpreter?: string;
  needed: string[];
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

export function isElf(b: Buffer): boolean {
  return b.length >= 4 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF';
}

export function elfNeeds(b: Buffer): ElfNeeds | undefined {
  if (!isElf(b) || b.length < 64 || b[4] !== 2 || b[5] !== 1) return undefined;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  const loads: Array<{ vaddr: number; offset: number; filesz: number }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  let interpreter: string | undefined;
  const cstr = (at: number) => b.toString('latin1', at, b.indexOf(0, at));
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > b.length) return undefined;
    const type = b.readUInt32LE(ph);
    const offset = Number(b.readBigUInt64LE(ph + 8));
    const vaddr = Number(b.readBigUInt64LE(ph + 16));
    const filesz = Number(b.readBigUInt64LE(ph + 32));
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
    else if (type === PT_INTERP) interpreter = cstr(offset);
  }
  if (!dynamic) return { interpreter, needed: [], runpath: [] };
  const tags: Array<[bigint, bigint]> = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
    const tag = b.readBigUInt64LE(at);
    if (tag === 0n) break;
    tags.push([tag, b.readBigUInt64LE(at + 8)]);
  }
  // DT_STRTAB is an address: map it to a file offset through the PT_LOAD segment holding it
  const strtabAddr = Number(tags.find(([t]) => t === DT_STRTAB)?.[1] ?? -1n);
  const seg = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
  if (!seg) return undefined;
  const strtab = strtabAddr - seg.vaddr + seg.offset;
  const strings = (tag: bigint) => tags.filter(([t]) => t === tag).map(([, v]) => cstr(strtab + Number(v)));
  return {
    interpreter,
    needed: strings(DT_NEEDED),
    runpath: [...strings(DT_RUNPATH), ...strings(DT_RPATH)].flatMap((p) => p.split(':')).filter(Boolean),
  };
}
