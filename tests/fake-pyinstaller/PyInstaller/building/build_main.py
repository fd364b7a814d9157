class Analysis:
    _GUTS = (("inputs", None), ("scripts", None), ("pure", None), ("datas", None))
