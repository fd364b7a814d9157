"""Unit tests of build-support/audit.py's mapping from import names to distributions and of how
it reads the project's imports. Run by tests/testsuite/python_helpers.rs (`python3 -m unittest`)."""
import importlib.util
import os
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "audit", os.path.join(HERE, "..", "..", "build-support", "audit.py"))
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def install(site, folder, name, files, top_level=None):
    """A distribution as an installer leaves it: its files (empty), its .dist-info with METADATA
    and RECORD, and top_level.txt when setuptools built it."""
    info = os.path.join(site, folder)
    os.makedirs(info)
    for path in files:
        path = os.path.normpath(os.path.join(site, path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name)
    record = [p + ",sha256=x,1" for p in files] + [folder + "/METADATA,,", folder + "/RECORD,,"]
    with open(os.path.join(info, "RECORD"), "w") as f:
        f.write("\n".join(record) + "\n")
    if top_level is not None:
        with open(os.path.join(info, "top_level.txt"), "w") as f:
            f.write(top_level)


class Mapping(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        site = cls.tmp.name
        # Pillow, as its wheel installs it: PIL, its shared libraries in pillow.libs.
        install(site, "pillow-11.0.0.dist-info", "pillow",
                ["PIL/__init__.py", "PIL/_imaging.cpython-311-x86_64-linux-gnu.so", "pillow.libs/libjpeg.so.62"],
                top_level="PIL\n")
        # No top_level.txt (not built by setuptools): RECORD alone says.
        install(site, "PyYAML-6.0.2.dist-info", "PyYAML", ["yaml/__init__.py", "_yaml/__init__.py"])
        install(site, "opencv_python-4.10.0.84.dist-info", "opencv-python",
                ["cv2/__init__.py", "opencv_python.libs/libavcodec.so.59"])
        install(site, "scikit_learn-1.5.2.dist-info", "scikit-learn",
                ["sklearn/__init__.py", "scikit_learn.libs/libgomp.so.1"], top_level="sklearn\n")
        install(site, "beautifulsoup4-4.12.3.dist-info", "beautifulsoup4", ["bs4/__init__.py"])
        install(site, "python_dateutil-2.9.0.post0.dist-info", "python-dateutil",
                ["dateutil/__init__.py", "dateutil/__pycache__/x.pyc"], top_level="dateutil\n")
        install(site, "six-1.17.0.dist-info", "six", ["six.py", "__pycache__/six.cpython-311.pyc"],
                top_level="six\n")
        install(site, "setuptools-75.0.dist-info", "setuptools",
                ["setuptools/__init__.py", "pkg_resources/__init__.py", "_distutils_hack/__init__.py",
                 "distutils-precedence.pth", "../bin/x"])
        cls.by_import, cls.by_name = audit._distributions([site])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def mapping(self, package):
        return audit._mapping(package, self.by_import, self.by_name)

    def test_each_distribution_maps_to_its_import_names(self):
        for entry, dist, imported in [
            ("pillow", "pillow", "PIL"),              # pillow.libs and the dist-info
            ("PIL", "pillow", "PIL"),
            ("PyYAML", "PyYAML", "yaml"),
            ("yaml", "PyYAML", "_yaml"),
            ("opencv_python", "opencv-python", "cv2"),  # opencv_python.libs
            ("cv2", "opencv-python", "cv2"),
            ("scikit_learn", "scikit-learn", "sklearn"),
            ("sklearn", "scikit-learn", "sklearn"),
            ("beautifulsoup4", "beautifulsoup4", "bs4"),
            ("python_dateutil", "python-dateutil", "dateutil"),  # a dist-info copied by copy_metadata
            ("dateutil", "python-dateutil", "dateutil"),
            ("six", "six", "six"),
            ("pkg_resources", "setuptools", "setuptools"),
        ]:
            dists, names = self.mapping(entry)
            self.assertEqual(dists, [dist], entry)
            self.assertIn(imported, names, entry)
            self.assertIn(entry, names, entry)

    def test_only_identifiers_are_import_names(self):
        _, names = self.mapping("pillow")
        self.assertEqual(names, {"pillow", "PIL"})
        _, names = self.mapping("setuptools")
        self.assertEqual(names, {"setuptools", "pkg_resources", "_distutils_hack"})
        self.assertNotIn("__pycache__", self.by_import)

    def test_what_no_distribution_ships_maps_to_itself(self):
        self.assertEqual(self.mapping("email"), ([], {"email"}))
        self.assertEqual(self.mapping("app_module"), ([], {"app_module"}))


class ProjectImports(unittest.TestCase):
    def imports(self, sources):
        with tempfile.TemporaryDirectory() as project:
            files = []
            for name, text in sources.items():
                path = os.path.join(project, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(textwrap.dedent(text))
                files.append(path)
            found = audit._project_imports(files, project)
        return {name: (sorted(kinds["eager"]), sorted(kinds["lazy"])) for name, kinds in found.items()}

    def test_every_form_counts_and_a_function_is_lazy(self):
        found = self.imports({
            "main.py": """
                import os.path
                from PIL import Image
                try:
                    import bs4
                except ImportError:
                    bs4 = None
                if os.name == "nt":
                    import winreg

                def shell():
                    import IPython
                    import importlib
                    return importlib.import_module("yaml.loader"), __import__("cv2")

                async def later():
                    from sklearn import svm
                """,
            "pkg/tools.py": """
                from . import sibling
                from .sibling import x
                import IPython
                def f():
                    import PIL
                """,
        })
        self.assertEqual(found["PIL"], (["main.py"], ["pkg/tools.py"]))
        self.assertEqual(found["bs4"], (["main.py"], []), "in a try: still at module level")
        self.assertEqual(found["winreg"], (["main.py"], []), "under an if: still at module level")
        self.assertEqual(found["IPython"], (["pkg/tools.py"], ["main.py"]))
        for lazy in ("yaml", "cv2", "sklearn"):
            self.assertEqual(found[lazy], ([], ["main.py"]), lazy)
        self.assertNotIn("sibling", found, "relative imports are the project's own")

    def test_a_file_that_does_not_parse_is_skipped(self):
        self.assertEqual(self.imports({"bad.py": "def (:\n", "ok.py": "import six\n"}), {"six": (["ok.py"], [])})


if __name__ == "__main__":
    unittest.main()


class OnedirFolder(unittest.TestCase):
    def test_files_beside_the_program_count_for_their_owner_as_the_archive_names_them(self):
        with tempfile.TemporaryDirectory() as folder:
            files = {
                "app": 100,
                "_internal/base_library.zip": 7,
                "_internal/libpython3.11.so.1.0": 5,
                "_internal/numpy/core/_multiarray.so": 3,
                "_internal/numpy.libs/libopenblas.so": 2,
                "_internal/static/index.html": 1,
            }
            for rel, size in files.items():
                path = os.path.join(folder, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(b"x" * size)
            os.symlink("libpython3.11.so.1.0", os.path.join(folder, "_internal", "libpython3.so"))
            sizes = audit.folder_sizes(folder, "app", "_internal")
            self.assertEqual(
                dict(sizes),
                {"(python stdlib: base_library.zip)": 7, "(python runtime)": 5, "numpy": 5, "static": 1},
            )
            # With `contents_directory='.'` the files sit beside the program.
            self.assertEqual(audit.folder_sizes(os.path.join(folder, "_internal"), "app", ".")["numpy"], 5)
