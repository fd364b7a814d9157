"""Unit tests of build-support/pack.py, the payload of an extract-once launcher: what it writes
reads back as the folder it packed, in the format src/launch/launcher.rs reads, and the same
folder always gives the same bytes. Run by tests/testsuite/python_helpers.rs (`python3 -m unittest`)."""
import importlib.util
import os
import struct
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("pack", os.path.join(HERE, "..", "..", "build-support", "pack.py"))
pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack)


def read(payload):
    """The entries of a payload, as the launcher reads them: (kind, mode, path, content)."""
    out, i = [], 0

    def take(n):
        nonlocal i
        i += n
        return payload[i - n:i]

    def name():
        return take(struct.unpack("<I", take(4))[0]).decode()

    while i < len(payload):
        kind, mode = struct.unpack("<BI", take(5))
        path = name()
        if kind == pack.FILE:
            method, size, stored = struct.unpack("<BQQ", take(17))
            data = take(stored)
            data = zlib.decompress(data, -15) if method == 1 else data
            assert len(data) == size
            out.append((kind, mode, path, data))
        elif kind == pack.SYMLINK:
            out.append((kind, mode, path, name()))
        else:
            out.append((kind, mode, path, None))
    return out


class PackTest(unittest.TestCase):
    def test_reads_back_as_the_folder_and_is_reproducible(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "app")
            os.makedirs(os.path.join(root, "_internal", "lib"))
            with open(os.path.join(root, "app"), "wb") as f:
                f.write(b"\x7fELF" + bytes(range(256)) * 40)
            os.chmod(os.path.join(root, "app"), 0o755)
            with open(os.path.join(root, "_internal", "lib", "data.txt"), "w") as f:
                f.write("x" * 5000)
            with open(os.path.join(root, "_internal", "empty"), "w"):
                pass
            os.symlink("lib/data.txt", os.path.join(root, "_internal", "link"))
            first, second = os.path.join(tmp, "1"), os.path.join(tmp, "2")
            pack.pack(root, first, 9, "app")
            pack.pack(root, second, 9, "app")
            with open(first, "rb") as f, open(second, "rb") as g:
                payload = f.read()
                self.assertEqual(payload, g.read())
            entries = read(payload)
            self.assertEqual(
                [(k, p) for k, _, p, _ in entries],
                # Each folder's entries sorted, before those of its subfolders: parents come first.
                [(pack.FOLDER, "_internal"), (pack.FILE, "app"), (pack.FILE, "_internal/empty"),
                 (pack.FOLDER, "_internal/lib"), (pack.SYMLINK, "_internal/link"), (pack.FILE, "_internal/lib/data.txt")],
            )
            by_path = {p: (m, c) for _, m, p, c in entries}
            self.assertEqual(by_path["app"][0], 0o755)
            self.assertEqual(by_path["_internal/lib/data.txt"], (0o644, b"x" * 5000))
            self.assertEqual(by_path["_internal/link"][1], "lib/data.txt")
            self.assertEqual(by_path["_internal/empty"][1], b"")
            # The program is stored (its archive is compressed already), every other file deflated.
            with open(os.path.join(root, "app"), "rb") as f:
                self.assertIn(f.read(), payload)
            self.assertNotIn(b"x" * 5000, payload)

    def test_a_base_payload_gives_the_same_bytes_and_says_what_it_compressed(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.join(tmp, "app")
            os.makedirs(os.path.join(root, "_internal"))
            files = {"app": b"program " * 900, "_internal/a.so": b"library " * 700, "_internal/b": b"tiny"}
            for rel, data in files.items():
                with open(os.path.join(root, rel), "wb") as f:
                    f.write(data)
            os.chmod(os.path.join(root, "app"), 0o755)
            os.symlink("a.so", os.path.join(root, "_internal", "link"))
            base, again, fresh = (os.path.join(tmp, n) for n in ("base", "again", "fresh"))
            pack.pack(root, base, 9, "app")
            # Unchanged: every member reused, except the one named fresh, packed to the same bytes
            # (the program is never reused: it is stored as it is).
            result = pack.pack(root, again, 9, "app", pack.read_base(base), {"_internal/a.so"})
            self.assertEqual(result, {"fresh": ["app", "_internal/a.so"], "same_entries": True})
            with open(base, "rb") as f, open(again, "rb") as g:
                self.assertEqual(f.read(), g.read())
            # One file edited, one mode and one link changed: those are packed from the folder.
            with open(os.path.join(root, "app"), "wb") as f:
                f.write(b"changed " * 900)
            os.chmod(os.path.join(root, "_internal", "b"), 0o755)
            os.remove(os.path.join(root, "_internal", "link"))
            os.symlink("b", os.path.join(root, "_internal", "link"))
            result = pack.pack(root, again, 9, "app", pack.read_base(base), set())
            self.assertEqual(result, {"fresh": ["app", "_internal/b", "_internal/link"], "same_entries": True})
            pack.pack(root, fresh, 9, "app")
            with open(fresh, "rb") as f, open(again, "rb") as g:
                self.assertEqual(f.read(), g.read())
            # A file more than the base had.
            with open(os.path.join(root, "_internal", "new"), "wb") as f:
                f.write(b"new")
            self.assertFalse(pack.pack(root, again, 9, "app", pack.read_base(base), set())["same_entries"])


if __name__ == "__main__":
    unittest.main()
