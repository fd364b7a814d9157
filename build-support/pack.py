"""Pack a PyInstaller onedir folder into the payload of an extract-once launcher.

argv: <onedir folder> <payload file> <zlib level>

The format is the one src/launch/launcher.rs reads: one entry per folder, file and symbolic link,
in sorted order, each file raw-deflated (stored when that does not make it smaller). Nothing
depends on the clock or the order the file system lists entries in: the same folder gives the
same bytes, so the payload's hash is the id of its content.
"""
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


def pack(root, out, level):
    with open(out, "wb") as f:
        for kind, rel, full in entries(root):
            if kind == FOLDER:
                f.write(struct.pack("<BI", FOLDER, 0o755) + name(rel))
            elif kind == SYMLINK:
                f.write(struct.pack("<BI", SYMLINK, 0o777) + name(rel) + name(os.readlink(full)))
            else:
                mode = 0o755 if os.stat(full).st_mode & 0o100 else 0o644
                with open(full, "rb") as src:
                    data = src.read()
                packer = zlib.compressobj(level, zlib.DEFLATED, -15, 9)
                packed = packer.compress(data) + packer.flush()
                method, stored = (1, packed) if len(packed) < len(data) else (0, data)
                f.write(struct.pack("<BI", FILE, mode) + name(rel))
                f.write(struct.pack("<BQQ", method, len(data), len(stored)))
                f.write(stored)


if __name__ == "__main__":
    pack(sys.argv[1], sys.argv[2], int(sys.argv[3]))
