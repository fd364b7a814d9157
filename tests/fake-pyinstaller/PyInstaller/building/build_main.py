class Analysis:
    """Stands in for PyInstaller's: `assemble` runs only when there is no cached analysis to
    reuse, `__postinit__` always (PyInstaller's `Target.__init__` calls them so)."""

    _GUTS = (("inputs", None), ("scripts", None), ("pure", None), ("datas", None))

    def __init__(self, cached):
        if not cached:
            self.assemble()
        self.__postinit__()

    def assemble(self):
        pass

    def __postinit__(self):
        pass
