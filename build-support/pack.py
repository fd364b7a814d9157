"""Pack a PyInstaller onedir folder into the payload of an extract-once launcher.

argv: <onedir folder> <payload file> <zlib level> <program> [<base payload> [<fresh name>...]]

The format is the one src/launch/launcher.rs reads: one entry per folder, file and symbolic link,
in sorted order, each file raw-deflated (stored when that does not make it smaller), but the
program at the folder's top, always stored: it is the bootloader and PyInstaller's archive,
whose modules are compressed already (deflating it again saves about 3%), and stored, its entry
is its bytes behind a header, which the fast path writes without an interpreter
(src/launch/mod.rs `repack_program`; the self-test after each build checks both agree). Nothing
depends on the clock or the order the file system lists entries in: the same folder gives the
same bytes, so the payload's hash is the id of its content.

With a base payload (an earlier one, written by this very packer and level), a file whose name,
mode and contents equal a base entry's takes that entry's stored bytes instead of being
compressed again: what compressing it would give, since the same bytes compress the same way,
but without the cost (the fast path re-packs a folder where one file changed). Names listed as
fresh are always compressed (the fast path's self-test proves this process compresses as the
base's did). Prints {"fresh": [files compressed, and links whose target is not the base's], "same_entries":
whether the folder's entries are the base's} as JSON.
"""
import json
import os
import struct
import sys
import zlib

FOLDER, FILE, SYMLINK = 0, 1, 2


def entries(root):
    """(kind, relative path, full path), parents before children, sorted by name."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        names = sorted(dirnames + filenames)
        for name in names:
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            rel = rel.replace(os.sep, "/")
            if os.path.islink(full):
                yield SYMLINK, rel, full
            elif os.path.isdir(full):
                yield FOLDER, rel, full
            else:
                yield FILE, rel, full
        # Symbolic links to folders are kept as links: not descended into.
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]


def name(text):
    raw = text.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw


def read_base(path):
    """{(kind, name): (mode, method, length, stored bytes)} of a payload this packer wrote."""
    with open(path, "rb") as f:
        data = f.read()
    at, found = 0, {}

    def text():
        nonlocal at
        (size,) = struct.unpack_from("<I", data, at)
        raw = data[at + 4 : at + 4 + size]
        at += 4 + size
        return raw.decode("utf-8")

    while at < len(data):
        kind, mode = struct.unpack_from("<BI", data, at)
        at += 5
        rel = text()
        if kind == FILE:
            method, length, size = struct.unpack_from("<BQQ", data, at)
            at += 17
            found[(kind, rel)] = (mode, method, length, data[at : at + size])
            at += size
        else:
            found[(kind, rel)] = (mode, text() if kind == SYMLINK else None, None, None)
    return found


def same(data, method, stored):
    if method == 0:
        return stored == data
    try:
        unpacker = zlib.decompressobj(-15)
        return unpacker.decompress(stored) == data and unpacker.eof and not unpacker.unused_data
    except zlib.error:
        return False


def pack(root, out, level, program, base=None, fresh=()):
    compressed, seen = [], set()
    with open(out, "wb") as f:
        for kind, rel, full in entries(root):
            seen.add((kind, rel))
            if kind == FOLDER:
                f.write(struct.pack("<BI", FOLDER, 0o755) + name(rel))
            elif kind == SYMLINK:
                target = os.readlink(full)
                if base is not None and base.get((kind, rel), (None, target))[1] != target:
                    compressed.append(rel)
                f.write(struct.pack("<BI", SYMLINK, 0o777) + name(rel) + name(target))
            else:
                mode, data = file_mode(full), read(full)
                old = base.get((kind, rel)) if base is not None and rel not in fresh else None
                if rel == program:
                    compressed.append(rel)
                    f.write(file_entry(rel, mode, data, 0, data))
                elif old is not None and old[0] == mode and old[2] == len(data) and same(data, old[1], old[3]):
                    f.write(file_entry(rel, mode, data, old[1], old[3]))
                else:
                    compressed.append(rel)
                    f.write(compressed_entry(rel, mode, data, level))
    return {"fresh": compressed, "same_entries": base is not None and seen == set(base)}


def file_mode(full):
    return 0o755 if os.stat(full).st_mode & 0o100 else 0o644


def read(full):
    with open(full, "rb") as src:
        return src.read()


def file_entry(rel, mode, data, method, stored):
    head = struct.pack("<BI", FILE, mode) + name(rel) + struct.pack("<BQQ", method, len(data), len(stored))
    return head + stored


def compressed_entry(rel, mode, data, level):
    """A file's entry, raw-deflated (stored when that does not make it smaller)."""
    packer = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
    packed = packer.compress(data) + packer.flush()
    if len(packed) < len(data):
        return file_entry(rel, mode, data, 1, packed)
    return file_entry(rel, mode, data, 0, data)


if __name__ == "__main__":
    base = read_base(sys.argv[5]) if len(sys.argv) > 5 else None
    result = pack(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], base, set(sys.argv[6:]))
    if base is not None:
        print(json.dumps(result))
